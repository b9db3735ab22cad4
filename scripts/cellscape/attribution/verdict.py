"""The randomisation check's verdict in one line per method, for pages that show attribution maps.

Adebayo et al. (2018): a map that still looks the same once every layer's weights are re-drawn
shows the image, not what the network learned. The verdict compares each method's maps before
and after randomising the whole network (mean Spearman rank correlation over the checked cells).
"""
import pandas as pd

#: below this mean rank correlation with the trained network's maps, a method passes
PASS_BELOW = 0.5


def sanity_verdicts(sanity):
    """``{method: {passes, spearman, text}}`` from the attribution stage's sanity.csv table."""
    sanity = pd.DataFrame(sanity)
    verdicts = {}
    for method, rows in sanity.groupby("method", sort=False):
        last = rows[rows["stage"] == rows["stage"].max()]
        rho = float(last["spearman"].mean())
        passes = rho < PASS_BELOW
        verdicts[method] = {
            "passes": bool(passes), "spearman": round(rho, 3),
            "text": (f"{'passes' if passes else 'fails'} the randomisation check "
                     f"(maps after re-drawing every layer's weights correlate {rho:.2f} with these, "
                     f"{'below' if passes else 'not below'} {PASS_BELOW}; {last['id'].nunique()} cells checked)")}
    return verdicts
