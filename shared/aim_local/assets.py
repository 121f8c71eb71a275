"""Build the board pages' static assets: pinned GOV.UK Frontend and MoJ Frontend from
node_modules (``npm ci``), and AIM's own CSS and script, into ``aim/web/static`` (served by the
staff function itself; nothing is loaded from a CDN)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "shared" / "aim" / "web"
GOVUK = ROOT / "node_modules" / "govuk-frontend" / "dist" / "govuk"
MOJ = ROOT / "node_modules" / "@ministryofjustice" / "frontend" / "moj"


class AssetsMissingError(Exception):
    """node_modules has no GOV.UK or MoJ Frontend: run ``npm ci`` first."""


def build_assets(out: Path = WEB / "static") -> Path:
    if not (GOVUK / "govuk-frontend.min.css").is_file() or not (MOJ / "moj-frontend.min.css").is_file():
        raise AssetsMissingError(f"{GOVUK} or {MOJ} is missing: run `npm ci --no-audit --no-fund` in {ROOT}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # The stylesheets name their fonts and images from the site root (/assets/...): made relative,
    # they work under an API Gateway stage prefix too.
    for source, name in (
        (GOVUK / "govuk-frontend.min.css", "govuk-frontend.min.css"),
        (MOJ / "moj-frontend.min.css", "moj-frontend.min.css"),
    ):
        css = source.read_text(encoding="utf-8").replace("url(/assets/", "url(")
        css = css.split("/*# sourceMappingURL")[0]
        (out / name).write_text(css, encoding="utf-8")
    js = (GOVUK / "govuk-frontend.min.js").read_text(encoding="utf-8").split("//# sourceMappingURL")[0]
    (out / "govuk-frontend.min.js").write_text(js, encoding="utf-8")
    shutil.copytree(GOVUK / "assets" / "fonts", out / "fonts")
    shutil.copytree(GOVUK / "assets" / "images", out / "images")
    shutil.copy2(GOVUK / "assets" / "manifest.json", out / "manifest.json")
    for own in (WEB / "assets").iterdir():
        shutil.copy2(own, out / own.name)
    return out


def ensure_assets() -> Path:
    out = WEB / "static"
    if not (out / "aim.css").is_file():
        build_assets(out)
    return out


if __name__ == "__main__":
    try:
        print(build_assets())
    except AssetsMissingError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from exc
