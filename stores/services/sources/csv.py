"""Orders imported from a CSV file (dispatch.services.csv_io: map, preview, import).
Nothing to write back: the file has no one to answer."""

from dispatch.models import Order
from stores.services.sources.base import OrderSource
from stores.services.sources.registry import register


class CsvSource(OrderSource):
    key = Order.Source.CSV
    label = "CSV import"


register(CsvSource())
