"""Order service: Checkout, hidden store selection, order lifecycle, and the retailer POS side."""
