import pytest
from synthohive_dbt.io.spark import read_database
from tests.helpers.spark_shop import create_shop, shop_metadata

pytestmark = pytest.mark.spark

def test_read(spark):
    frames = create_shop(spark, "real_db")
    r = read_database(spark, "real_db", shop_metadata(), max_rows=150, seed=3)
    for n, f in r.frames.items():
        print(n, len(f), r.real_rows[n], f.dtypes.to_dict())
    o, c = r.frames["orders"], r.frames["customers"]
    assert o.customer_id.isin(c.customer_id).all()
    assert r.frames["order_items"].order_id.isin(o.order_id).all()
    print(r.schemas["customers"])
