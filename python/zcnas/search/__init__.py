"""Architecture search driven by zero-cost proxies.

Zero-Cost-PT operation scoring on supernets (``zc_pt``), AZ-NAS evolution, aging evolution,
random search and predictor-based search (``evolution``, ``predictor``); every search returns
a trajectory of the best architecture found.
"""
