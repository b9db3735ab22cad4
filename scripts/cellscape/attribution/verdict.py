"""One verdict per attribution method from quality.csv, by one documented rule
(docs/attribution.md), for the figures and the explorer.

A method passes when every check it was given passes:

- **model randomisation**: its maps must lose their likeness to the trained network's as the
  layers are re-drawn from the top: the mean absolute Spearman correlation inside the cell over
  the cascade's stages (averaged over the cells) is below ``RANDOMISATION_BELOW``. The absolute
  maps, because a sign flip alone drops the signed correlation (Adebayo et al. 2018);
- **label randomisation** (when run): the mean absolute Spearman correlation with the maps of a
  copy trained on shuffled labels is below ``RANDOMISATION_BELOW``;
- **faithfulness**: removing the cell's pixels in the map's order lowers the predicted class's
  probability more than random order: the area between the curves exceeds ``FAITHFUL_SE``
  standard errors over the cells and ``FAITHFUL_MIN``.

Localisation (share inside the cell and the nucleus) is reported beside it, not judged: where a
network should look is what the map is meant to tell.
"""
import numpy as np
import pandas as pd

from .methods import gradcam_layer

#: below this mean absolute rank correlation with the trained network's maps, the maps follow the weights
RANDOMISATION_BELOW = 0.5
#: the area between the pixel-flipping curves must exceed this many standard errors over the cells
FAITHFUL_SE = 2.0
#: ... and this much predicted probability (a consistent but negligible gap is not faithfulness)
FAITHFUL_MIN = 0.01


def _value(quality, method, check, score, column="mean"):
    row = quality[(quality["method"] == method) & (quality["check"] == check) & (quality["score"] == score)]
    return float(row[column].iloc[0]) if len(row) else None


def label(method):
    layer = gradcam_layer(method)
    return f"Grad-CAM {layer}" if layer else method.replace("_", " ")


#: (verdict check, quality.csv check, score name, text): the randomisation checks, judged alike
RANDOMISATION_CHECKS = (("randomisation", "cascading_randomisation", "cascade_spearman_abs", "cascading randomisation"),
                        ("label_randomisation", "label_randomisation", "label_spearman_abs", "label randomisation"))


def verdicts(quality):
    """``{method: {passes, checks: {check: bool}, scores, text}}`` from a quality.csv table, in its
    method order."""
    quality = pd.DataFrame(quality)
    out = {}
    for method in dict.fromkeys(quality["method"]):
        checks, scores, parts = {}, {}, []
        for check, quality_check, score, name in RANDOMISATION_CHECKS:
            value = _value(quality, method, quality_check, "spearman_abs")
            if value is not None:
                checks[check] = value < RANDOMISATION_BELOW
                scores[score] = round(value, 3)
                parts.append(f"{name}: rank corr. of |maps| {value:.2f} "
                             f"{'<' if checks[check] else '>='} {RANDOMISATION_BELOW}")
        abc = _value(quality, method, "faithfulness", "area_between_curves")
        if abc is not None:
            sd = _value(quality, method, "faithfulness", "area_between_curves", "sd")
            n = _value(quality, method, "faithfulness", "area_between_curves", "n_cells")
            se = sd / np.sqrt(n) if n and n > 1 else np.inf
            checks["faithfulness"] = bool(abc > max(FAITHFUL_SE * se, FAITHFUL_MIN))
            scores["faithfulness_abc"] = round(abc, 4)
            scores["faithfulness_se"] = round(float(se), 4) if np.isfinite(se) else None
            drops = [(_value(quality, method, "faithfulness", s) or np.nan)
                     for s in ("drop_top_0.1", "drop_random_0.1")]
            scores["drop_top_10"], scores["drop_random_10"] = (round(d, 4) for d in drops)
            parts.append(f"pixel flipping: top 10% of the cell removed lowers p by {drops[0]:.3f} "
                         f"(random 10%: {drops[1]:.3f}), area between curves {abc:.3f} "
                         f"({'>' if checks['faithfulness'] else '<='} {FAITHFUL_SE:g} SE and {FAITHFUL_MIN:g})")
        for where in ("cell", "nucleus"):
            share = _value(quality, method, "localisation", f"share_in_{where}")
            if share is not None and np.isfinite(share):
                scores[f"share_in_{where}"] = round(share, 3)
        passes = bool(checks) and all(checks.values())
        failed = [c.replace("_", " ") for c, ok in checks.items() if not ok]
        head = "passes every check" if passes else f"fails {', '.join(failed)}" if failed else "not checked"
        out[method] = {"passes": passes, "checks": {c: bool(ok) for c, ok in checks.items()}, "scores": scores,
                       "text": f"{label(method)} {head}: " + "; ".join(parts)}
    return out


def passing_first(methods, found):
    """``methods`` with the passing ones first (each group in its own order)."""
    return ([m for m in methods if found.get(m, {}).get("passes")]
            + [m for m in methods if not found.get(m, {}).get("passes")])
