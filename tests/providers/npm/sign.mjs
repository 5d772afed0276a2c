// Signs webhook requests with the providers' own official libraries, the way each SDK does, so
// that tests/providers can check triggerd accepts what real senders send.
//
//   node sign.mjs < requests.json > signed.json
//   node sign.mjs --versions
//
// stdin: a JSON array of {library, secret, body, timestamp (unix s), msg_id, url, params}; stdout:
// an array, in the same order, of {headers: {name: value}, body, url} or {error}. Libraries:
//   octokit           @octokit/webhooks-methods sign()                    -> X-Hub-Signature-256
//   stripe            stripe.webhooks.generateTestHeaderString()          -> Stripe-Signature
//   standardwebhooks  new Webhook(secret).sign()                          -> webhook-id/-timestamp/-signature
//   svix              new Webhook(secret).sign()                          -> svix-id/-timestamp/-signature
//   shopify           @shopify/shopify-api/test-helpers getHmac()         -> X-Shopify-Hmac-Sha256
//   twilio            twilio.getExpectedTwilioSignature() over url+params -> X-Twilio-Signature
//   twilio-json       the same over url?bodySHA256=getExpectedBodyHash(body)
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const PACKAGES = ["@octokit/webhooks-methods", "stripe", "standardwebhooks", "svix",
                  "@shopify/shopify-api", "twilio"];

async function signOne(r) {
  switch (r.library) {
    case "octokit": {
      const { sign } = await import("@octokit/webhooks-methods");
      return { headers: { "X-Hub-Signature-256": await sign(r.secret, r.body) }, body: r.body };
    }
    case "stripe": {
      const Stripe = (await import("stripe")).default;
      const stripe = new Stripe("sk_test_triggerd");
      const header = stripe.webhooks.generateTestHeaderString({
        payload: r.body, secret: r.secret, timestamp: r.timestamp });
      return { headers: { "Stripe-Signature": header }, body: r.body };
    }
    case "standardwebhooks": {
      const { Webhook } = await import("standardwebhooks");
      const signature = new Webhook(r.secret).sign(r.msg_id, new Date(r.timestamp * 1000), r.body);
      return { headers: { "webhook-id": r.msg_id, "webhook-timestamp": String(r.timestamp),
                          "webhook-signature": signature }, body: r.body };
    }
    case "svix": {
      const { Webhook } = require("svix");
      const signature = new Webhook(r.secret).sign(r.msg_id, new Date(r.timestamp * 1000), r.body);
      return { headers: { "svix-id": r.msg_id, "svix-timestamp": String(r.timestamp),
                          "svix-signature": signature }, body: r.body };
    }
    case "shopify": {
      const { getHmac } = require("@shopify/shopify-api/test-helpers");
      return { headers: { "X-Shopify-Hmac-Sha256": getHmac(r.body, r.secret) }, body: r.body };
    }
    case "twilio": {
      const twilio = require("twilio");
      const signature = twilio.getExpectedTwilioSignature(r.secret, r.url, r.params);
      return { headers: { "X-Twilio-Signature": signature }, body: r.body, url: r.url };
    }
    case "twilio-json": {
      const twilio = require("twilio");
      const url = r.url + (r.url.includes("?") ? "&" : "?") + "bodySHA256=" +
                  twilio.getExpectedBodyHash(r.body);
      const signature = twilio.getExpectedTwilioSignature(r.secret, url, {});
      return { headers: { "X-Twilio-Signature": signature }, body: r.body, url };
    }
    default:
      throw new Error(`unknown library ${r.library}`);
  }
}

if (process.argv.includes("--versions")) {
  const versions = {};
  for (const p of PACKAGES) {
    const manifest = new URL(`./node_modules/${p}/package.json`, import.meta.url);
    versions[p] = JSON.parse(readFileSync(manifest, "utf8")).version;
  }
  process.stdout.write(JSON.stringify(versions) + "\n");
} else {
  const requests = JSON.parse(readFileSync(0, "utf8"));
  const results = [];
  for (const r of requests) {
    try {
      results.push(await signOne(r));
    } catch (e) {
      results.push({ error: String(e && e.stack || e) });
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}
