"""`xltools serve`: the season in a browser (routes, templates/, static/; no build step, no CDN)."""
