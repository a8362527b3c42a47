package payments

import "checkout/locale"

// customerMsg is a sentence the customer reads (a payment's failure, a
// field error, a method's reason), written in English from the catalog's
// message id (locale, ids msg_*) with its placeholders filled (pairs of a
// name and its value). It is stored and answered over the API in English;
// the customer pages find the message back from its text
// (locale.Translate) and show it in the page's language. Writing it from
// the catalog keeps the two from drifting apart.
func customerMsg(id string, args ...string) string {
	return locale.Format(locale.EN, id, args...)
}
