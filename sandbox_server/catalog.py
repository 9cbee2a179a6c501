"""Which datasets a user can see: the demo registry (everyone) plus their own uploads."""

from __future__ import annotations

from pathlib import Path

from sandbox_server.errors import DatasetNotFound
from sandbox_server.registry import Dataset, Registry, load_registry
from sandbox_server.store import Store


class Catalog:
    def __init__(self, registry: Registry, store: Store, uploads_dir: Path) -> None:
        self.registry = registry
        self.store = store
        self.uploads_dir = uploads_dir

    @classmethod
    def open(cls, datasets_dir: Path, store: Store, state_dir: Path) -> Catalog:
        return cls(load_registry(datasets_dir), store, state_dir / "datasets")

    def list(self, user: str | None) -> list[Dataset]:
        own = [self._bind(Dataset.model_validate_json(body)) for body in self.store.list_datasets(owner=user)]
        return [*self.registry.datasets, *own]

    def get(self, dataset_id: str, user: str | None) -> Dataset:
        for dataset in self.registry.datasets:
            if dataset.id == dataset_id:
                return dataset
        body = self.store.get_dataset(owner=user, dataset_id=dataset_id)
        if body is None:
            # Someone else's upload is reported exactly like a dataset that does not exist.
            known = ", ".join(d.id for d in self.list(user))
            raise DatasetNotFound(
                f"dataset {dataset_id!r} does not exist", suggestion=f"known datasets: {known}"
            )
        return self._bind(Dataset.model_validate_json(body))

    def _bind(self, dataset: Dataset) -> Dataset:
        return dataset.model_copy(update={"directory": self.uploads_dir / dataset.version_hash})
