"""The HTML parity report: store data (data.py), inline SVG charts (charts.py), the page (page.py)."""
