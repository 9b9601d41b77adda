"""The catalogue of indicators: each declared once (:mod:`.registry`, :mod:`.catalogue`), computed for every
province at once through its domain's service (:mod:`.sources`), compared with plans and last year
(:mod:`.service`)."""
