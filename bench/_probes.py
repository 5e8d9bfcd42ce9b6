"""The dependences gen_shop.py plants, measured the same way on real and on every engine's synthetic tables.

SDMetrics' Intertable Trends score averages many column pairs; these probes ask the pointed questions the
generator was built to answer (does a premium customer still order more, spend more, buy more electronics,
get the discount, order after signing up?). Pure pandas, vectorised; used by bench/_score.py.
"""

from __future__ import annotations

import pandas as pd

SEGMENTS = ["premium", "standard", "basic"]


def shop_probes(t: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Flat {probe[segment]: value}; NaN where a segment is missing from the synthetic data."""
    cust, orders = t["customers"], t["orders"]
    seg = cust.set_index("customer_id")["segment"]
    per_customer = orders.groupby("customer_id").size().reindex(cust["customer_id"], fill_value=0)
    orders_per = per_customer.groupby(seg.reindex(per_customer.index).to_numpy()).mean()
    o = orders.set_index("order_id")
    signup = cust.set_index("customer_id")["signup_date"].reindex(o["customer_id"]).to_numpy()
    after_signup = float((pd.to_datetime(o["order_date"]).to_numpy() >= pd.to_datetime(signup)).mean())
    out = {f"orders_per_customer[{s}]": round(float(orders_per.get(s, float("nan"))), 4) for s in SEGMENTS}
    out["orders_after_signup"] = round(after_signup, 4)
    if "order_items" not in t:
        return out
    items, prods = t["order_items"], t["products"]

    lines = items.merge(orders[["order_id", "customer_id"]], on="order_id", how="left")
    lines["segment"] = seg.reindex(lines["customer_id"]).to_numpy()
    lines["value"] = lines["quantity"] * lines["unit_price"]
    products = prods.set_index("product_id")
    lines["category"] = products["category"].reindex(lines["product_id"]).to_numpy()
    lines["price_ratio"] = lines["unit_price"] / products["list_price"].reindex(lines["product_id"]).to_numpy()

    order_value = lines.groupby("order_id")["value"].sum()
    o_seg = seg.reindex(o["customer_id"]).to_numpy()
    spend = (order_value.reindex(o.index, fill_value=0.0) + o["shipping_fee"]).groupby(o_seg).mean()
    lines_per_order = items.groupby("order_id").size().reindex(o.index, fill_value=0).groupby(o_seg).mean()
    electronics = (lines["category"] == "electronics").groupby(lines["segment"]).mean()
    ratio = lines["price_ratio"].groupby(lines["segment"]).median()
    for name, series in [("order_value", spend),
                         ("lines_per_order", lines_per_order), ("electronics_share", electronics),
                         ("price_to_list_ratio", ratio)]:
        for s in SEGMENTS:
            out[f"{name}[{s}]"] = round(float(series.get(s, float("nan"))), 4)
    return out


PROBES = {"shop": shop_probes, "shop_5k": shop_probes, "shop_2level": shop_probes}


def compare(real: dict[str, float], synth: dict[str, float]) -> dict[str, object]:
    """Per probe: real, synthetic, relative error; and their mean (lower is better; NaN counts as 1)."""
    rows, errors = {}, []
    for key, r in real.items():
        s = synth.get(key, float("nan"))
        err = 1.0 if s != s else min(abs(s - r) / max(abs(r), 1e-9), 1.0)  # s != s: NaN
        errors.append(err)
        rows[key] = {"real": r, "synthetic": s, "rel_error": round(err, 4)}
    return {"mean_rel_error": round(sum(errors) / len(errors), 4), "probes": rows}
