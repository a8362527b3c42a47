// Package httpx is the plumbing that the provider clients (pesapal,
// pochipay, pokeapay) share: the bearer-token cache, the retry policy's
// pieces (backoff, sleep, the retry decision), the description of a
// request that got no HTTP answer, and the cleaning of provider-written
// text.
//
// It holds only what is the same logic in every client. What differs stays
// in the providers: each keeps its own typed *Error, op names and error
// texts, reads its own token lifetime (Pesapal's expiryDate, Pochipay's
// expiresIn, PokeaPay's JWT exp), and runs its own retry loop and HTTP
// exchange. So the functions here return plain values and causes, and the
// providers wrap them in their errors.
package httpx
