"""The risk service in Python, standard library only: proof that `contract-tests verify` holds a
provider written in any language to the published spec (openapi/risk.json).

    python3 risk_provider.py [--port N] [--nonconforming]

It prints the URL it serves. Its ratings start empty: the verifier sets up the provider state
each interaction names through the state hook, `POST /__provider-state`, which a real service
would expose only in test mode. `--nonconforming` breaks the contract on purpose (a score as
a string, an unknown ZIP code answered 200), so the verifier can be seen to fail it.
"""

import argparse
import json
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATINGS = {}
NONCONFORMING = False
RATED_33139 = {
    "zipcode": "33139", "risk_score": 0.9, "flood_zone": "AE", "state": "FL", "source": "table",
    "data_version": "python sample of 2026-11-25", "elevation_ft": 4.0, "distance_to_water_mi": 0.1,
    "flood_claims_10y": 214,
    "factors": [
        {"factor": "flood_zone", "contribution": 0.4, "explanation": "flood zone AE"},
        {"factor": "elevation", "contribution": 0.2, "explanation": "4 ft above sea level"},
        {"factor": "distance_to_water", "contribution": 0.15, "explanation": "0.1 mi from water"},
        {"factor": "claims_history", "contribution": 0.15, "explanation": "214 claims in 10 years"},
    ],
}


class Risk(BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.split("/")
        if not self.headers.get("authorization", "").startswith("Bearer "):
            return self.problem(401, "unauthorized", "a bearer token is required")
        if len(parts) != 4 or parts[1:3] != ["api", "risk"]:
            return self.problem(404, "not-found", f"no route for GET {self.path}")
        zipcode = parts[3]
        if len(zipcode) != 5 or not zipcode.isdigit():
            return self.problem(400, "invalid-parameter", f"{zipcode!r} is not a 5-digit ZIP code")
        if zipcode in RATINGS:
            rating = dict(RATINGS[zipcode])
            if NONCONFORMING:
                rating["risk_score"] = str(rating["risk_score"])
            return self.send(200, "application/json", rating)
        if NONCONFORMING:
            return self.send(200, "application/json", {"zipcode": zipcode})
        return self.problem(404, "not-found", f"{zipcode} is not a U.S. ZIP code in use")

    def do_POST(self):
        if self.path != "/__provider-state":
            return self.problem(404, "not-found", f"no route for POST {self.path}")
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if request["state"] != "ZIP code 33139 is rated":
            return self.problem(400, "unknown-state", f"no such provider state: {request['state']}")
        RATINGS["33139"] = RATED_33139
        self.send(204)

    def problem(self, status, kind, detail):
        title = {400: "Bad request", 401: "Unauthorized", 404: "Not found"}[status]
        body = {"type": f"urn:nfip:problem:{kind}", "title": title, "status": status,
                "detail": detail, "request_id": str(uuid.uuid4())}
        self.send(status, "application/problem+json", body)

    def send(self, status, content_type=None, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if content_type:
            self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--nonconforming", action="store_true")
    args = parser.parse_args()
    NONCONFORMING = args.nonconforming
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Risk)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
