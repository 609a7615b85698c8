"""Draw the phone app's icons (ui/icons/*.png) from the SVG below, rasterised by Debian's Chromium.

Run after changing the drawing: .venv/bin/python scripts/make_icons.py (the PNGs are committed, so serving
the app needs neither this script nor a browser). The maskable icon keeps the mark inside the central 80 %
circle that a launcher may crop to, on a background that fills the whole square.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ICONS = Path(__file__).resolve().parents[1] / "ui" / "icons"
NAVY, RED, WHITE, SEA = "#0b3d5c", "#d7191c", "#ffffff", "#2f7fb0"


def mark() -> str:
    """A red cross over a wave on a 100 x 100 canvas: emergency care at sea (the favicon's cross)."""
    return (
        f'<path d="M40 14h20v22h22v20H60v22H40V56H18V36h22z" fill="{RED}" stroke="{WHITE}" stroke-width="4" '
        'stroke-linejoin="round"/>'
        f'<path d="M10 86q10-8 20 0t20 0t20 0t20 0" fill="none" stroke="{SEA}" stroke-width="5" '
        'stroke-linecap="round"/>'
    )


def svg(maskable: bool, size: int = 100) -> str:
    # A maskable icon may be cut to a circle of 80 % of its width: the mark shrinks into it, the navy fills all.
    background = f'<rect width="100" height="100" fill="{NAVY}"/>' if maskable else \
        f'<rect width="100" height="100" rx="20" fill="{NAVY}"/>'
    inner = f'<g transform="translate(20 20) scale(0.6)">{mark()}</g>' if maskable else \
        f'<g transform="translate(8 8) scale(0.84)">{mark()}</g>'
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="{size}" height="{size}">'
            f'{background}{inner}</svg>')


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    wanted = [("icon-192.png", 192, False), ("icon-512.png", 512, False), ("icon-maskable-512.png", 512, True)]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        for name, size, maskable in wanted:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<body style="margin:0">{svg(maskable, size)}</body>')
            page.screenshot(path=str(ICONS / name), omit_background=True)
            page.close()
        browser.close()
    (ICONS / "icon.svg").write_text(svg(maskable=False) + "\n")


if __name__ == "__main__":
    main()
