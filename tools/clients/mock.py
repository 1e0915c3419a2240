"""The generated Python client, contract-tested in its own language against the gateway's
validating mock (`contract-tests mock gateway`, scripted by tools/contract/gateway-answers.json):
purchase, read, pay, and a declared error. The mock checks every request against
openapi/gateway.json; tools/contract/any_language.py reads its report.

NFIP_GATEWAY_URL is the mock's; the generated packages are under clients/python.
"""

import os

from nfip_gateway import AuthenticatedClient
from nfip_gateway.api.invoices import pay_invoice
from nfip_gateway.api.policies import get_policy
from nfip_gateway.api.purchase import purchase
from nfip_gateway.models import Contact, PayInvoice, Payment, Policy, Problem, PurchaseRequest, Receipt

client = AuthenticatedClient(base_url=os.environ["NFIP_GATEWAY_URL"], token="any-key-the-mock-accepts")

order = PurchaseRequest(zipcode="33139", base_rate=1200.0, user="Python Mock", contact=Contact(email="py@example.org"))
bought = purchase.sync_detailed(client=client, body=order, idempotency_key="py-mock-1")
assert bought.status_code == 201 and isinstance(bought.parsed, Receipt), bought.content

read = get_policy.sync(client=client, id=bought.parsed.policy_id)
assert isinstance(read, Policy), read

card = PayInvoice(card_number="4242424242424242")
paid = pay_invoice.sync(client=client, id=bought.parsed.invoice_id, body=card, idempotency_key="py-mock-2")
assert isinstance(paid, Payment), paid

declined = pay_invoice.sync_detailed(
    client=client, id="00000000-0000-4000-8000-000000000402", body=card, idempotency_key="py-mock-3"
)
assert declined.status_code == 402 and isinstance(declined.parsed, Problem), declined.content
assert declined.parsed.type_ == "urn:nfip:problem:payment-declined", declined.parsed

print("python client against the gateway mock: purchase, read, pay and a 402 as declared")
