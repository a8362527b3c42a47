package sandbox

import (
	"checkout/gateway"
)

// STKPrompts returns a copy of every STK prompt of both providers, pending
// or answered, oldest first.
func (s *Sandbox) STKPrompts() []STKPrompt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]STKPrompt, len(s.stk.prompts))
	for i, p := range s.stk.prompts {
		out[i] = *p
	}
	return out
}

// STKPrompt returns a copy of the prompt that provider ("pokeapay" or
// "pochipay") started with this reference (orderRef or orderId).
func (s *Sandbox) STKPrompt(provider, reference string) (STKPrompt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.stk.byRef[stkKey{provider, reference}]
	if !ok {
		return STKPrompt{}, false
	}
	return *p, true
}

// STKAnswer answers a pending prompt as the customer's phone would: code
// "0" (STKCodeSuccess) approves it with a receipt; any other code
// STKResultText knows fails it with M-Pesa's sentence ("1" insufficient
// funds, "1032" declined, "1037" no answer, "2001" wrong PIN, ...). The
// callback is sent in the background when sendCallback is true. It returns
// ErrSTKUnknownProvider, ErrSTKUnknownCode, ErrSTKUnknownPrompt or
// ErrSTKPromptFinal.
func (s *Sandbox) STKAnswer(provider, reference, code string, sendCallback bool) error {
	return s.stkFinish(provider, reference, code, nil, sendCallback)
}

// STKAnswerAmount approves a pending prompt with the provider reporting
// paid, not the amount asked, in its query answers and callback (for tests
// of an amount that does not match).
func (s *Sandbox) STKAnswerAmount(provider, reference string, paid gateway.Amount, sendCallback bool) error {
	return s.stkFinish(provider, reference, STKCodeSuccess, &paid, sendCallback)
}

// FailSTKQueries makes provider's next n status requests answer HTTP 503
// (before any token check): PokeaPay's transaction query, Pochipay's
// transaction-status and collection-query.
func (s *Sandbox) FailSTKQueries(provider string, n int) {
	s.mu.Lock()
	s.stkCounter(provider).failQueries = max(n, 0)
	s.mu.Unlock()
}

// STKQueries is the number of provider's status requests received so far,
// whatever their answer (503s and 401s included).
func (s *Sandbox) STKQueries(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stkCounter(provider).queries
}

// STKCallbacksSent is the number of provider's callback requests made so
// far, every try counted, acknowledged or not. It counts a request once its
// answer has been read (or it failed), so the app has finished handling it.
func (s *Sandbox) STKCallbacksSent(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stkCounter(provider).callbacksSent
}

// STKLogins is the number of tokens provider issued so far (successful
// logins; refused ones are not counted).
func (s *Sandbox) STKLogins(provider string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stkCounter(provider).logins
}

// SendSTKCallback sends the callback of an answered prompt once, now, and
// returns an error unless the app answered with a 2xx status. It does not
// retry. It fails for a pending prompt and once the Sandbox is closed.
func (s *Sandbox) SendSTKCallback(provider, reference string) error {
	note, err := s.stkCallbackNote(provider, reference)
	if err != nil {
		return err
	}
	return s.sendSTKCallback(s.ctx, note)
}

// ExpireSTKTokens makes every token of both STK providers expire now.
func (s *Sandbox) ExpireSTKTokens() {
	s.mu.Lock()
	now := s.now()
	for t, tok := range s.stk.tokens {
		tok.expiry = now
		s.stk.tokens[t] = tok
	}
	s.mu.Unlock()
}
