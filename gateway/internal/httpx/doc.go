// Package httpx is the backbone the provider clients (pesapal, pochipay,
// pokeapay) share, after stripe-go's Backend: Backend does every HTTP
// exchange (build the request, time it out, read the answer with a size
// limit, log without bodies or queries, describe a request that got no
// answer as a typed Failure), renews a bearer token once when the provider
// answers 401 (WithBearer), and retries a call that is safe to repeat
// with a reason and capped, jittered backoff (Retry). Beside it: the
// bearer-token cache and the cleaning of provider-written text.
//
// What differs stays in the providers: their endpoints, parameters and
// answer mapping, their own typed *Error (Backend.Wrap turns a Failure
// into it), their token lifetimes (Pesapal's expiryDate, Pochipay's
// expiresIn, PokeaPay's JWT exp), and their rules: Pesapal's pending error
// object at any HTTP status, Pochipay's envelope and 404 rules, PokeaPay's
// bare token tried as "Bearer" once, and which calls may be retried (never
// one that starts a payment).
package httpx
