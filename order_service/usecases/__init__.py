"""Load (under the order's row lock), call one domain method, save, add its events to the
outbox, all in the caller's transaction. One module per use case; callers use
`usecases.<name>`, so each is re-exported here.
"""

from order_service.usecases.base import sha256_hex as sha256_hex
from order_service.usecases.checkout import Cart as Cart
from order_service.usecases.checkout import Checkout as Checkout
from order_service.usecases.checkout import CheckoutInProgress as CheckoutInProgress
from order_service.usecases.checkout import CheckoutPolicy as CheckoutPolicy
from order_service.usecases.checkout import DeliveryWindow as DeliveryWindow
from order_service.usecases.checkout import IdempotencyKeyReused as IdempotencyKeyReused
from order_service.usecases.checkout import MixedCurrencies as MixedCurrencies
from order_service.usecases.checkout import OutsideDeliveryArea as OutsideDeliveryArea
from order_service.usecases.checkout import SoldOutOffers as SoldOutOffers
from order_service.usecases.checkout import check_delivery_area as check_delivery_area
from order_service.usecases.checkout import checkout as checkout
from order_service.usecases.checkout import new_pin as new_pin
from order_service.usecases.checkout import new_tracking_token as new_tracking_token
from order_service.usecases.checkout import place_order as place_order
from order_service.usecases.checkout import request_fingerprint as request_fingerprint
from order_service.usecases.checkout import resolve_offers as resolve_offers
from order_service.usecases.checkout import seed_from_offers as seed_from_offers
from order_service.usecases.checkout import sold_out_offers as sold_out_offers
from order_service.usecases.customer_orders import CustomerOrder as CustomerOrder
from order_service.usecases.customer_orders import DriverPosition as DriverPosition
from order_service.usecases.customer_orders import cancel_by_customer as cancel_by_customer
from order_service.usecases.customer_orders import (
    cancel_shipment_by_operator as cancel_shipment_by_operator,
)
from order_service.usecases.customer_orders import order_for_customer as order_for_customer
from order_service.usecases.customer_orders import order_for_tracking as order_for_tracking
from order_service.usecases.customer_orders import tip as tip
from order_service.usecases.delivery_progress import assign_driver as assign_driver
from order_service.usecases.delivery_progress import expire_unaccepted as expire_unaccepted
from order_service.usecases.delivery_progress import follow_delivery as follow_delivery
from order_service.usecases.delivery_progress import mark_at_risk as mark_at_risk
from order_service.usecases.quotes import QuotePolicy as QuotePolicy
from order_service.usecases.quotes import UnknownQuote as UnknownQuote
from order_service.usecases.quotes import make_quote as make_quote
from order_service.usecases.quotes import quoted_window as quoted_window
from order_service.usecases.retailer_events import RetailerEvent as RetailerEvent
from order_service.usecases.retailer_events import WebhookReplayed as WebhookReplayed
from order_service.usecases.retailer_events import apply_retailer_event as apply_retailer_event
from order_service.usecases.retailers import filling_stores as filling_stores
from order_service.usecases.retailers import provision_pos as provision_pos
from order_service.usecases.retailers import retailer_orders as retailer_orders
from order_service.usecases.retailers import store_for_api_key as store_for_api_key
from order_service.usecases.retailers import store_stock as store_stock
from order_service.usecases.retailers import webhook_secrets as webhook_secrets
from order_service.usecases.retailers import webhook_url as webhook_url
from order_service.usecases.storefront_webhooks import DeliveryRow as DeliveryRow
from order_service.usecases.storefront_webhooks import EndpointRemoved as EndpointRemoved
from order_service.usecases.storefront_webhooks import EndpointRow as EndpointRow
from order_service.usecases.storefront_webhooks import new_webhook_secret as new_webhook_secret
from order_service.usecases.storefront_webhooks import register_endpoint as register_endpoint
from order_service.usecases.storefront_webhooks import remove_endpoint as remove_endpoint
from order_service.usecases.storefront_webhooks import replay_delivery as replay_delivery
from order_service.usecases.storefront_webhooks import replay_failed as replay_failed
from order_service.usecases.storefront_webhooks import (
    rotate_endpoint_secret as rotate_endpoint_secret,
)
from order_service.usecases.storefront_webhooks import (
    storefront_deliveries as storefront_deliveries,
)
from order_service.usecases.storefront_webhooks import storefront_delivery as storefront_delivery
from order_service.usecases.storefront_webhooks import storefront_endpoints as storefront_endpoints

__all__ = [
    "Cart",
    "Checkout",
    "CheckoutInProgress",
    "CheckoutPolicy",
    "CustomerOrder",
    "DeliveryRow",
    "DeliveryWindow",
    "DriverPosition",
    "EndpointRemoved",
    "EndpointRow",
    "IdempotencyKeyReused",
    "MixedCurrencies",
    "OutsideDeliveryArea",
    "QuotePolicy",
    "RetailerEvent",
    "SoldOutOffers",
    "UnknownQuote",
    "WebhookReplayed",
    "apply_retailer_event",
    "assign_driver",
    "cancel_by_customer",
    "cancel_shipment_by_operator",
    "check_delivery_area",
    "checkout",
    "expire_unaccepted",
    "filling_stores",
    "follow_delivery",
    "make_quote",
    "mark_at_risk",
    "new_pin",
    "new_tracking_token",
    "new_webhook_secret",
    "order_for_customer",
    "order_for_tracking",
    "place_order",
    "provision_pos",
    "quoted_window",
    "register_endpoint",
    "remove_endpoint",
    "replay_delivery",
    "replay_failed",
    "request_fingerprint",
    "resolve_offers",
    "retailer_orders",
    "rotate_endpoint_secret",
    "seed_from_offers",
    "sha256_hex",
    "sold_out_offers",
    "store_for_api_key",
    "store_stock",
    "storefront_deliveries",
    "storefront_delivery",
    "storefront_endpoints",
    "tip",
    "webhook_secrets",
    "webhook_url",
]
