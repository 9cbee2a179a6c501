"""Pieces of the Kubernetes executor: the Job manifest, reading pod status, API retries.

The executor itself (the lifecycle) is ``sandbox_server.executors.kubernetes``.
"""

from sandbox_server.executors.k8s.manifest import build_job, job_manifest, job_name
from sandbox_server.executors.k8s.retry import RetryPolicy

__all__ = ["RetryPolicy", "build_job", "job_manifest", "job_name"]
