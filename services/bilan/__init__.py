"""The season review ("bilan"), in the manner of the programme document's "Bilan de la saison
1" sections, built only from the services' public HTTP APIs (docs/insight.md, The bilan).

A library beside `services.runtime`, not a service: `cma bilan` (services/command) and the
portal's `/bilan/{sheet}.md|.html|.pdf` both import it; it imports no service (an
import-linter contract), only `contracts` for reference data, and reads the services the way
any client does: `fetch` (sources.py) → `compose` (domain.py, pure) → `render` (render.py,
with charts.py's inline SVG).
"""

from services.bilan.document import Document, bilan_document
from services.bilan.render import BilanFormat

__all__ = ["BilanFormat", "Document", "bilan_document"]
