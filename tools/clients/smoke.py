"""Smoke test of the generated Python client: buy a policy through the gateway, read it back.

Run by `just clients-smoke` against a fresh stack (NFIP_GATEWAY_URL, NFIP_API_KEY), with the
generated packages under clients/python on PYTHONPATH.
"""

import os
import uuid

from nfip_gateway import AuthenticatedClient, Client
from nfip_gateway.api.policies import get_policy
from nfip_gateway.api.purchase import purchase
from nfip_gateway.models import Contact, Policy, PolicyStatus, Problem, PurchaseRequest, Receipt

base_url = os.environ["NFIP_GATEWAY_URL"]
client = AuthenticatedClient(base_url=base_url, token=os.environ["NFIP_API_KEY"])

order = PurchaseRequest(
    zipcode="33139",
    base_rate=1200.0,
    user="Python Smoke",
    contact=Contact(email="python@example.org"),
)
response = purchase.sync_detailed(client=client, body=order, idempotency_key=f"py-{uuid.uuid4()}")
assert response.status_code == 201, response.content
receipt = response.parsed
assert isinstance(receipt, Receipt), receipt
assert receipt.amount_cents == 108000 and receipt.amount == "1080.00", receipt

policy = get_policy.sync(client=client, id=receipt.policy_id)
assert isinstance(policy, Policy), policy
assert policy.status == PolicyStatus.ACTIVE and policy.holder == "Python Smoke", policy

refused = purchase.sync_detailed(client=Client(base_url=base_url), body=order)
assert refused.status_code == 401 and isinstance(refused.parsed, Problem), refused.content

print(f"python client: bought policy {receipt.policy_id} for ${receipt.amount}, read it back ({policy.status})")
