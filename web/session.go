package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"
	lru "github.com/hashicorp/golang-lru/v2"

	"checkout/handlers"
	"checkout/reqctx"
)

// Sessions holds the two cookie sessions: the customer's (SameSite=Lax, so
// the provider's top-level GET back to us still carries it; it holds the CSRF
// token) and the admin's (SameSite=Strict). Both are signed and encrypted
// with keys derived from CHECKOUT_SECRET. The admin login and logout
// handlers reach them through handlers.Sessions.
type Sessions struct {
	store                   *sessions.CookieStore
	customerName, adminName string
	// linksName is the cookie that remembers which checkout each payment
	// link gave this browser (see LinkCheckout). It is apart from the
	// customer session so that the session's value, and the token cache
	// keyed by it, stay as they are.
	linksName string
	secure    bool
	// tokens remembers the CSRF token of customer cookies this process
	// has already decoded, keyed by the cookie's whole value, so that a
	// browser's later views skip the decoding (HMAC, AES and gob: most of a
	// page view's CPU). Only a value that decoded, so was signed with our
	// key, is ever put in; a value it does not hold is decoded as before.
	// The customer session holds nothing but the token and its cookie
	// never expires by age (MaxAge 0), so a value decodes to the same token
	// every time: the cache answers what decoding would. Views look it up
	// with Peek, under a read lock (Get would take its exclusive lock on
	// every view): the oldest value is dropped first.
	tokens *lru.Cache[string, string]
}

// tokenCacheSize bounds the token cache: about 300 bytes an entry, so
// under 2.5 MB.
const tokenCacheSize = 8192

var _ handlers.Sessions = (*Sessions)(nil)

// NewSessions builds the cookie sessions. secure (an https public URL) turns
// on the Secure flag and the __Host- prefix.
func NewSessions(hashKey, blockKey []byte, secure bool) *Sessions {
	st := sessions.NewCookieStore(hashKey, blockKey)
	st.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	st.MaxAge(0)
	s := &Sessions{store: st, customerName: "checkout", adminName: "checkout_admin", linksName: "checkout_links", secure: secure,
		tokens: mustLRU[string](tokenCacheSize)}
	if secure {
		s.customerName, s.adminName, s.linksName = "__Host-checkout", "__Host-checkout_admin", "__Host-checkout_links"
	}
	return s
}

func (s *Sessions) get(c *gin.Context, name string, same http.SameSite) *sessions.Session {
	// A cookie that does not decode (an old key, tampering) starts a new session.
	sess, _ := s.store.Get(c.Request, name) // on error Get still returns a new, empty session
	sess.Options = &sessions.Options{Path: "/", HttpOnly: true, Secure: s.secure, SameSite: same}
	return sess
}

func (s *Sessions) customer(c *gin.Context) *sessions.Session {
	return s.get(c, s.customerName, http.SameSiteLaxMode)
}

// customerToken is the CSRF token of the request's customer session, ""
// when it has none (no cookie, or one that does not decode). sess is the
// decoded session, nil when the token came from the cache.
func (s *Sessions) customerToken(c *gin.Context) (tok string, sess *sessions.Session) {
	ck, err := c.Request.Cookie(s.customerName)
	if err == nil {
		if tok, ok := s.tokens.Peek(ck.Value); ok {
			return tok, nil
		}
	}
	sess = s.customer(c)
	tok, _ = sess.Values["csrf"].(string)
	if tok != "" && !sess.IsNew {
		s.tokens.Add(ck.Value, tok)
	}
	return tok, sess
}

func (s *Sessions) admin(c *gin.Context) *sessions.Session {
	return s.get(c, s.adminName, http.SameSiteStrictMode)
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: the runtime stops the program if it cannot read
	return base64.RawURLEncoding.EncodeToString(b)
}

// RequireAdmin sends a request without a live admin session to the login
// page, and keeps a live session alive. The payments service says whether a
// session is live (see payments.Service.AdminSession), by its clock; the
// handlers pass the question on.
func (s *Sessions) RequireAdmin(h *handlers.Handlers) gin.HandlerFunc {
	return func(c *gin.Context) {
		sess := s.admin(c)
		email, _ := sess.Values["email"].(string)
		seen, _ := sess.Values["seen"].(int64)
		epoch, _ := sess.Values["epoch"].(int64)
		// The server-side session's token (its row: payments'
		// AdminSession): a revoked or unknown one is not live.
		token, _ := sess.Values["sid"].(string)
		sessionID, live, err := h.AdminSession(c, email, seen, epoch, token)
		if err != nil {
			h.Fail(c, err)
			return
		}
		if !live {
			if email != "" {
				sess.Options.MaxAge = -1
				if err := sess.Save(c.Request, c.Writer); err != nil {
					h.Fail(c, err)
					return
				}
			}
			c.Redirect(http.StatusSeeOther, "/admin/login")
			c.Abort()
			return
		}
		sess.Values["seen"] = h.Now().Unix()
		if err := sess.Save(c.Request, c.Writer); err != nil {
			h.Fail(c, err)
			return
		}
		reqctx.SetAdminSession(c, sessionID)
		c.Next()
	}
}

// Login starts a fresh admin session, used at now, and a fresh CSRF token,
// so nothing from before the login carries over (session fixation). The
// cookie carries token, whose SHA-256 is the session's server-side row.
func (s *Sessions) Login(c *gin.Context, email string, epoch int64, token string, now time.Time) error {
	cust := s.customer(c)
	// The old cookie keeps the old token: forget what the cache said of it,
	// so nothing in this request can map it to the new one.
	if ck, err := c.Request.Cookie(s.customerName); err == nil {
		s.tokens.Remove(ck.Value)
	}
	tok := randomToken()
	cust.Values["csrf"] = tok
	if err := cust.Save(c.Request, c.Writer); err != nil {
		return err
	}
	reqctx.SetCSRF(c, tok)
	adm := s.admin(c)
	adm.Values = map[any]any{"email": email, "seen": now.Unix(), "epoch": epoch, "sid": token}
	return adm.Save(c.Request, c.Writer)
}

// StartTOTPLogin replaces the admin session with a login that passed its
// password at now and waits for its two-factor code. It holds no "email",
// so RequireAdmin opens nothing to it.
func (s *Sessions) StartTOTPLogin(c *gin.Context, email string, epoch int64, now time.Time) error {
	adm := s.admin(c)
	adm.Values = map[any]any{"totp_email": email, "totp_epoch": epoch, "totp_at": now.Unix()}
	return adm.Save(c.Request, c.Writer)
}

// TOTPLogin is the login waiting for its code (StartTOTPLogin); email ""
// when there is none.
func (s *Sessions) TOTPLogin(c *gin.Context) (email string, epoch int64, started time.Time) {
	adm := s.admin(c)
	email, _ = adm.Values["totp_email"].(string)
	epoch, _ = adm.Values["totp_epoch"].(int64)
	at, _ := adm.Values["totp_at"].(int64)
	return email, epoch, time.Unix(at, 0)
}

// TOTPEnrolment is the two-factor secret being set up in this admin
// session, and when it was made; "" when none. The cookie is encrypted
// (the session's block key).
func (s *Sessions) TOTPEnrolment(c *gin.Context) (secret string, made time.Time) {
	adm := s.admin(c)
	secret, _ = adm.Values["totp_enrol"].(string)
	at, _ := adm.Values["totp_enrol_at"].(int64)
	return secret, time.Unix(at, 0)
}

// SetTOTPEnrolment keeps the secret being set up ("" forgets it).
func (s *Sessions) SetTOTPEnrolment(c *gin.Context, secret string, now time.Time) error {
	adm := s.admin(c)
	if secret == "" {
		delete(adm.Values, "totp_enrol")
		delete(adm.Values, "totp_enrol_at")
	} else {
		adm.Values["totp_enrol"], adm.Values["totp_enrol_at"] = secret, now.Unix()
	}
	return adm.Save(c.Request, c.Writer)
}

// Logout ends the admin session in this browser.
func (s *Sessions) Logout(c *gin.Context) error {
	adm := s.admin(c)
	adm.Values = map[any]any{}
	adm.Options.MaxAge = -1
	return adm.Save(c.Request, c.Writer)
}

// maxLinkCheckouts bounds how many links' checkouts one browser's cookie
// remembers (the newest are kept): a cookie stays well under 4 KB.
const maxLinkCheckouts = 8

// linkCheckoutAge is how long the links cookie lives: a checkout made from
// a link can be paid for at most a day.
const linkCheckoutAge = 24 * 60 * 60

// linkPairs reads the links cookie: "linkID checkoutID" pairs, oldest first.
func (s *Sessions) linkPairs(c *gin.Context) (*sessions.Session, []string) {
	sess := s.get(c, s.linksName, http.SameSiteLaxMode)
	pairs, _ := sess.Values["links"].([]string)
	return sess, pairs
}

// LinkCheckout is the checkout this browser was given for the payment link
// linkID, "" if none is remembered. The caller checks that it is still
// that link's and payable: the cookie is signed, but old.
func (s *Sessions) LinkCheckout(c *gin.Context, linkID string) string {
	_, pairs := s.linkPairs(c)
	for _, p := range pairs {
		if l, co, ok := strings.Cut(p, " "); ok && l == linkID {
			return co
		}
	}
	return ""
}

// RememberLinkCheckout remembers checkoutID as this browser's checkout for
// the payment link linkID, replacing an older one.
func (s *Sessions) RememberLinkCheckout(c *gin.Context, linkID, checkoutID string) error {
	sess, pairs := s.linkPairs(c)
	keep := make([]string, 0, len(pairs)+1)
	for _, p := range pairs {
		if l, _, _ := strings.Cut(p, " "); l != linkID {
			keep = append(keep, p)
		}
	}
	keep = append(keep, linkID+" "+checkoutID)
	if len(keep) > maxLinkCheckouts {
		keep = keep[len(keep)-maxLinkCheckouts:]
	}
	sess.Values["links"] = keep
	sess.Options.MaxAge = linkCheckoutAge
	return sess.Save(c.Request, c.Writer)
}

// mustLRU is a bounded, concurrency-safe LRU of size entries; size is a
// positive constant, so it cannot fail.
func mustLRU[V any](size int) *lru.Cache[string, V] {
	c, err := lru.New[string, V](size)
	if err != nil {
		panic(err)
	}
	return c
}
