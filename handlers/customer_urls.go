package handlers

// The addresses of a checkout's customer pages, built here alone (web's
// route table serves them).

// checkoutPath is the checkout page: the order and the method choice, the
// receipt, or why it can no longer be paid.
func checkoutPath(id string) string { return "/c/" + id }

// payPath is where the method choice (and the M-Pesa number) is posted.
func payPath(id string) string { return checkoutPath(id) + "/pay" }

// cancelPath is where "Cancel and return" is posted.
func cancelPath(id string) string { return checkoutPath(id) + "/cancel" }

// statusPath is the live status the pages poll.
func statusPath(id string) string { return checkoutPath(id) + "/status" }

// pesapalPath is Pesapal's payment page framed in ours.
func pesapalPath(id string) string { return checkoutPath(id) + "/pesapal" }

// stkPath is "Check your phone" while an M-Pesa prompt is on the phone.
func stkPath(id string) string { return checkoutPath(id) + "/stk" }
