// Code generated from the PokeaPay documents by a one-off extraction; the
// bodies are byte for byte those of shared/providers/pokeapay-postman-collection.json
// (request bodies, saved response bodies, URLs) and
// shared/providers/pokeapay-b2c-remittance.txt. See docreading_test.go for what
// each one means. Kept in Go rather than under testdata/ so that the package's
// fixture inventory test is not disturbed.

package pokeapay_test

var docFixtures = map[string]string{
	"b2c-request.txt": `{
"source": {
"customer_code":"XXXXXXXX",
"account_no":"XXXXX"
},"destination":{
"country_code":"KES",
"name":"John Doe",
"mobile_number":"2547XXXXXXXXXXX",
},"transfer":{
"reference":"12232",
"currency":"KES",
"amount":"100",
"date":"2020-10-23",
"description":"Dividend remitting",
"channel":"234432"
},
"result_url":"https://webhook.site/dd12b3f6-5e5b-452e-96ee-63fac3c0e73e"
}`,
	"b2c-response.json": `{
"code": 0,
"success": true,
"message": "The service request is submitted successfully."
}
`,
	"b2c-result-failed.txt": `{
"channel": "234432",
"result_code": 1032,
"reference" : "12232"
"result_description": "Bad Request - Invalid Account number",
"hash": "b80c6893e1f38cc054d2b33fb6c3f7b65f635f45eed7a9c6747da038f2b52d30"
}`,
	"b2c-result-success.json": `{
"channel": "234432",
"reference": "12232",
"transaction_id": "QLD82TMWJE",
"currency": "KES",
"amount": "100",
"fees": "2",
"result_code": 0,
"result_description": "The service request is processed successfully.",
"hash": "d6e15ccdf590e58ac5ad4f52943fe16c4db8a605034a4565d21a86a886a7c1c4"
}
`,
	"ipn.json": "{\r\n     \"billreference\":\"\",\r\n     \"amount\":\"\",\r\n     \"accountname\":\"\",\r\n     \"accountno\":\"\",\r\n     \"fees\":\"\",\r\n     \"referenceno\":\"\",\r\n     \"method\":\"\"\r\n}",
	"login-200-success.json": `{
    "success": true,
    "message": "Login successful",
    "data": {
        "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VySW5mbyI6eyJ1c2VySWQiOjIsInJvbGVzIjpbeyJpZCI6Miwicm9sZU5hbWUiOiJBZG1pbmlzdHJhdG9yIn1dfSwiaWF0IjoxNjA4NzMxOTkzLCJleHAiOjE2MDg3MzU1OTN9.1YUH0_2oAICeJx4yLKGzd1uN3FA2IoGHL9lnzBf8_hE"
    }
}`,
	"login-400-error.json": `{
    "success": false,
    "error": "The credentials you provided are incorrect"
}`,
	"login-request.json": `{
	"email": "jacqchumo@gmail.com",
	"password": "ld@3$ePa#&fdyd"
}`,
	"query-200-initiated.json": `{
    "success": true,
    "message": "Transaction initiated successfully",
    "data": {
        "orderRef": "some_order",
        "amount": 1,
        "phone": "2547xxxxxx"
    }
}`,
	"query-400-error-lock.json": `{
    "success": false,
    "error": "Unableto lock subscriber, a transaction is already in process for the current subscriber"
}`,
	"query-422-invalid-inputs.json": `
{
    "success": false,
    "error": "\"phone\" with value \"2547xxxxxxxx\" fails to match the required pattern: /^(254(7|1)\\d{8})$/",
    "data": {
        "amount": 1,
        "phone": "2547xxxxxxxx",
        "callBackUrl": "call back url",
        "outletCode": "outlet code",
        "orderRef": "order",
        "variable1": "v1",
        "variable2": "v2",
        "customerName": "customer name",
        "customerEmail": "customer email"
    }
}`,
	"query-nostatus-success.json": `{
    "success": true,
    "message": "Transaction completed successfully",
    "data": {
        "receipt": "receipt",
        "firstname": "firstname",
        "middlename": "middlename",
        "lastname": "lastname",
        "orderRef": "some_order",
        "amount": 1,
        "phone": "2547xxxxxxxx",
        "outletCode": "outlet code",
        "variable1": "v1",
        "variable2": "v2"
    }
}`,
	"query-request.json": `{
    "amount": 1,
    "phone": "254722705138",
    "outletCode": "OTC8",
    "orderRef": "some_order"
}`,
	"return-url.txt": `www.website.co.ke/returnpage/?oref=23&hsh=aei7p7yrx4ae34&type=m&amount=100&sstatus=1
`,
	"stk-callback-failed.json": `{
    "success": false,
    "message": "Failed Reason",
    "data": {
        "orderRef": "some_order",
        "amount": 1,
        "phone": "2547xxxxxxxx",
        "outletCode": "outlet code",
        "variable1": "v1",
        "variable2": "v2"
    }
}`,
	"stk-callback-success.json": `{
    "success": true,
    "message": "Transaction completed successfully",
    "data": {
        "receipt": "receipt",
        "firstname": "firstname",
        "middlename": "middlename",
        "lastname": "lastname",
        "orderRef": "some_order",
        "amount": 1,
        "phone": "2547xxxxxxxx",
        "outletCode": "outlet code",
        "variable1": "v1",
        "variable2": "v2"
    }
}`,
	"stk-push-200-invalid-inputs.json": `
{
    "success": false,
    "error": "\"phone\" with value \"2547xxxxxxxx\" fails to match the required pattern: /^(254(7|1)\\d{8})$/",
    "data": {
        "amount": 1,
        "phone": "2547xxxxxxxx",
        "callBackUrl": "call back url",
        "outletCode": "outlet code",
        "orderRef": "order",
        "variable1": "v1",
        "variable2": "v2",
        "customerName": "customer name",
        "customerEmail": "customer email"
    }
}`,
	"stk-push-200-named-error.json": `{
    "success": true,
    "message": "Transaction initiated successfully",
    "data": {
        "orderRef": "some_order",
        "amount": 1,
        "phone": "254717892018"
    }
}`,
	"stk-push-422-named-success-lock.json": `{
    "success": false,
    "error": "Unableto lock subscriber, a transaction is already in process for the current subscriber"
}`,
	"stk-push-request-filled.json": `{
    "amount": 1,
    "phone": "254717892018",
    "callBackUrl": "https://sandbox.safaricom.co.ke/mpesa/b2c/v1",
    "outletCode": "OTC100001",
    "orderRef": "some_order",
    "variable1": "v1",
    "variable2": "v2",
    "customerName": "Bolton",
    "customerEmail": "bolt@gmail.com"
}`,
	"stk-push-request.json": `{
    "amount": 1,
    "phone": "2547xxxxxxxx",
    "callBackUrl": "call back url",
    "outletCode": "outlet code",
    "orderRef": "some_order",
    "variable1": "v1",
    "variable2": "v2",
    "customerName": "customer name",
    "customerEmail": "customer email"
}`,
	"verify-url.txt": `https://core.pokeapay.com/api/payment/status?amount=10&hash=easddd&type=m&bill_ref=949&oc=OTC100014
`,
}
