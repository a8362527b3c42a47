package payments

import (
	"slices"
	"strings"

	"checkout/store"
)

// Form fields of the customer details a method asks for on our checkout
// page before the customer leaves for the provider.
const (
	FieldCustomerPhone = "customer_phone"
	FieldCustomerEmail = "customer_email"
)

// CustomerContact is what a customer typed on the checkout page for the
// receipt: Contact is the single "email or phone" field of the method
// choice (shown for Pesapal when the checkout has neither); Email and Phone
// are the separate fields of the step that asks for what PokeaPay needs.
type CustomerContact struct {
	Contact, Email, Phone string
}

// ContactNeeded is the answer when a method needs customer details the
// checkout lacks, or the customer's are wrong. Nothing was started or
// stored.
type ContactNeeded struct {
	// Method is the method chosen (MethodPokeaPay).
	Method string
	// Missing lists the fields to ask for, in the page's order: those the
	// checkout has no value for (FieldCustomerPhone, FieldCustomerEmail).
	Missing []string
	// Values is what the customer typed for each field, to show again.
	Values map[string]string
	// Errors has a sentence for each field still missing or wrong.
	Errors map[string]string
}

func (e *ContactNeeded) Error() string {
	return "payments: customer details needed for " + e.Method + ": " + strings.Join(e.Missing, ", ")
}

// Asks reports whether field is one the customer is asked for.
func (e *ContactNeeded) Asks(field string) bool {
	return slices.Contains(e.Missing, field)
}

// pokeapayContact returns the phone and email PokeaPay's link is signed
// with: the checkout's, else what the customer typed (the phone normalised
// to 254 and nine digits, the email checked). The "email or phone" field of
// the method choice counts for whichever it is. Wrong text in that field is
// a *FieldError on it; anything else missing or wrong is a *ContactNeeded.
func pokeapayContact(co *store.Checkout, in CustomerContact) (email, phone string, err error) {
	email, phone = strings.TrimSpace(co.CustomerEmail), strings.TrimSpace(co.CustomerPhone)
	if p, err := NormalizePhone(phone); err == nil {
		phone = p // a merchant's number in another form; one that is not Kenyan is sent as given
	}
	if email != "" && phone != "" {
		return email, phone, nil
	}
	typedEmail, typedPhone := strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone)
	if c := strings.TrimSpace(in.Contact); c != "" {
		if strings.Contains(c, "@") {
			if checkEmail("contact", c) != nil {
				return "", "", &FieldError{Code: "invalid", Field: "contact", Message: customerMsg("msg_contact_email_bad")}
			}
			if typedEmail == "" {
				typedEmail = c
			}
		} else {
			if _, err := NormalizePhone(c); err != nil {
				return "", "", &FieldError{Code: "invalid", Field: "contact", Message: customerMsg("msg_contact_format")}
			}
			if typedPhone == "" {
				typedPhone = c
			}
		}
	}
	need := &ContactNeeded{Method: MethodPokeaPay, Values: map[string]string{}, Errors: map[string]string{}}
	if phone == "" {
		need.Missing = append(need.Missing, FieldCustomerPhone)
		need.Values[FieldCustomerPhone] = typedPhone
		p, err := NormalizePhone(typedPhone)
		switch {
		case typedPhone == "":
			need.Errors[FieldCustomerPhone] = customerMsg("msg_need_phone")
		case err != nil:
			need.Errors[FieldCustomerPhone] = customerMsg("msg_need_phone_bad")
		default:
			phone = p
		}
	}
	if email == "" {
		need.Missing = append(need.Missing, FieldCustomerEmail)
		need.Values[FieldCustomerEmail] = typedEmail
		switch {
		case typedEmail == "":
			need.Errors[FieldCustomerEmail] = customerMsg("msg_need_email")
		case checkEmail(FieldCustomerEmail, typedEmail) != nil:
			need.Errors[FieldCustomerEmail] = customerMsg("msg_need_email_bad")
		default:
			email = typedEmail
		}
	}
	if len(need.Errors) > 0 {
		return "", "", need
	}
	return email, phone, nil
}
