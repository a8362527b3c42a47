package pesapal

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
)

// docRegisterAnswer is the document's RegisterIPN sample answer.
const docRegisterAnswer = `{
    "url": "https://myapplication.com/ipn",
    "created_date": "2024-06-14T07:50:22.2825997Z",
    "ipn_id": "84740ab4-3cd9-47da-8a4f-dd1db53494b5",
    "notification_type": 0,
    "ipn_notification_type_description": "GET",
    "ipn_status": 1,
    "ipn_status_description": "Active",
    "error": null,
    "status": "200"
}`

// docIPNList is the document's GetIpnList sample answer.
const docIPNList = `[
    {
        "url": "https://www.myapplication.com/ipn",
        "created_date": "2022-03-03T17:29:03.7208266Z",
        "ipn_id": "e32182ca-0983-4fa0-91bc-c3bb813ba750",
        "error": null,
        "status": "200"
    },
    {
        "url": "https://ipn.myapplication.com/application2",
        "created_date": "2021-12-05T04:23:45.5509243Z",
        "ipn_id": "c3bb813ba750-0983-4fa0-91bc-e32182ca",
        "error": null,
        "status": "200"
    }
]`

func TestRegisterIPNSendsURLAndMethod(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		wantBody string
	}{
		{"GET", IPNGet, `{"url":"https://myapplication.com/ipn","ipn_notification_type":"GET"}`},
		{"lower-case post is sent as POST", "post", `{"url":"https://myapplication.com/ipn","ipn_notification_type":"POST"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{pathRegisterIPN: raw(http.StatusOK, docRegisterAnswer)})
			c := f.client(&sleepRecorder{})

			reg, err := c.RegisterIPN(t.Context(), "https://myapplication.com/ipn", tt.method)
			if err != nil {
				t.Fatal(err)
			}

			want := IPNRegistration{
				URL:                            "https://myapplication.com/ipn",
				CreatedDate:                    "2024-06-14T07:50:22.2825997Z",
				IPNID:                          "84740ab4-3cd9-47da-8a4f-dd1db53494b5",
				NotificationType:               0,
				IPNNotificationTypeDescription: "GET",
				IPNStatus:                      1,
				IPNStatusDescription:           "Active",
				Error:                          nil,
				Status:                         "200",
			}
			if reg != want {
				t.Errorf("registration:\n got %+v\nwant %+v", reg, want)
			}
			reqs := f.Requests(pathRegisterIPN)
			if len(reqs) != 1 {
				t.Fatalf("requests = %d, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Body != tt.wantBody || r.Method != http.MethodPost || r.ContentType != "application/json" ||
				r.Accept != "application/json" || r.Authorization != "Bearer "+tokenName(1) {
				t.Errorf("request = %+v, want body %s", r, tt.wantBody)
			}
		})
	}
}

func TestRegisterIPNRefusesBadArguments(t *testing.T) {
	tests := []struct {
		name, url, method, wantErr string
	}{
		{"no url", " ", IPNGet, "pesapal: register IPN: invalid request: url is required"},
		{"method not GET or POST", "https://shop.example/ipn", "PUT", "pesapal: register IPN: invalid request: ipn_notification_type must be GET or POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, nil)
			c := f.client(&sleepRecorder{})
			_, err := c.RegisterIPN(t.Context(), tt.url, tt.method)
			if !errors.Is(err, ErrInvalidRequest) || err.Error() != tt.wantErr {
				t.Errorf("error = %v, want %q wrapping ErrInvalidRequest", err, tt.wantErr)
			}
			if f.Tokens() != 0 {
				t.Errorf("a token was requested for a refused call")
			}
		})
	}
}

func TestGetIPNListReadsTheDocumentSample(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK, docIPNList)})
	c := f.client(&sleepRecorder{})

	list, err := c.GetIPNList(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	want := []IPNRegistration{
		{URL: "https://www.myapplication.com/ipn", CreatedDate: "2022-03-03T17:29:03.7208266Z",
			IPNID: "e32182ca-0983-4fa0-91bc-c3bb813ba750", Status: "200"},
		{URL: "https://ipn.myapplication.com/application2", CreatedDate: "2021-12-05T04:23:45.5509243Z",
			IPNID: "c3bb813ba750-0983-4fa0-91bc-e32182ca", Status: "200"},
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("list:\n got %+v\nwant %+v", list, want)
	}
	reqs := f.Requests(pathIPNList)
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Body != "" || reqs[0].Authorization != "Bearer "+tokenName(1) {
		t.Errorf("requests = %+v, want one GET with the bearer token", reqs)
	}
}

func TestGetIPNListReportsAnErrorObjectOnHTTP200(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{pathIPNList: raw(http.StatusOK,
		`{"error":{"error_type":"api_error","code":"no_ipns","message":"No IPN registered"},"status":"500"}`)})
	c := f.client(&sleepRecorder{})

	list, err := c.GetIPNList(t.Context())

	if list != nil {
		t.Errorf("list = %v, want nil with the error", list)
	}
	e := asError(t, err)
	want := Error{HTTPStatus: 200, Type: "api_error", Code: "no_ipns", Message: "No IPN registered", Op: "get IPN list"}
	if e.HTTPStatus != want.HTTPStatus || e.Type != want.Type || e.Code != want.Code || e.Message != want.Message || e.Op != want.Op || e.Err != nil {
		t.Errorf("error = %+v, want %+v", *e, want)
	}
}

func TestEnsureIPN(t *testing.T) {
	const newID = "84740ab4-3cd9-47da-8a4f-dd1db53494b5"
	tests := []struct {
		name          string
		list          string
		url           string
		wantID        string
		wantRegisters int
	}{
		{
			name: "reuses the registration whose url matches exactly", list: docIPNList,
			url: "https://ipn.myapplication.com/application2", wantID: "c3bb813ba750-0983-4fa0-91bc-e32182ca",
		},
		{
			name: "registers when only a near match exists", list: docIPNList,
			url: "https://www.myapplication.com/ipn/", wantID: newID, wantRegisters: 1,
		},
		{
			name: "registers when the case differs", list: docIPNList,
			url: "https://WWW.myapplication.com/ipn", wantID: newID, wantRegisters: 1,
		},
		{
			name: "registers when the list is empty", list: `[]`,
			url: "https://myapplication.com/ipn", wantID: newID, wantRegisters: 1,
		},
		{
			name: "skips a matching entry that carries an error",
			list: `[{"url":"https://myapplication.com/ipn","ipn_id":"old","error":{"error_type":"api_error","code":"inactive","message":"Inactive"},"status":"500"}]`,
			url:  "https://myapplication.com/ipn", wantID: newID, wantRegisters: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, map[string]http.HandlerFunc{
				pathIPNList:     raw(http.StatusOK, tt.list),
				pathRegisterIPN: raw(http.StatusOK, docRegisterAnswer),
			})
			c := f.client(&sleepRecorder{})

			id, err := c.EnsureIPN(t.Context(), tt.url, IPNPost)
			if err != nil {
				t.Fatal(err)
			}

			if id != tt.wantID {
				t.Errorf("ipn id = %q, want %q", id, tt.wantID)
			}
			if got := len(f.Requests(pathIPNList)); got != 1 {
				t.Errorf("list requests = %d, want 1", got)
			}
			regs := f.Requests(pathRegisterIPN)
			if len(regs) != tt.wantRegisters {
				t.Fatalf("register requests = %d, want %d", len(regs), tt.wantRegisters)
			}
			if tt.wantRegisters == 1 {
				if want := `{"url":"` + tt.url + `","ipn_notification_type":"POST"}`; regs[0].Body != want {
					t.Errorf("register body = %s, want %s", regs[0].Body, want)
				}
			}
		})
	}
}
