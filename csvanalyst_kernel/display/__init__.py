"""Rendering: how answers, errors and lists look in a notebook (HTML) and a console (text).

One small module per concern: value formatting, SQL highlighting, the plain-English plan
reading, the chart bundle, the HTML card and the text card. Everything here is a pure function
of data, so it is tested without a kernel.
"""

from csvanalyst_kernel.display.options import DisplayOptions

__all__ = ["DisplayOptions"]
