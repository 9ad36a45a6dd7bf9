// Package tencenttest is a fake of Tencent Cloud's live room REST API
// command v4/live_engine_http_srv/get_member_list, for tests, load tests and
// the exporter's demo mode.
//
// It knows nothing about Prometheus and deliberately does not import the
// project's tencent package: its UserSig v2 verifier (DecodeUserSig,
// VerifyUserSig) is an independent implementation, so a test that drives the
// real client against a Fake cross-checks the client's signer.
//
// A Fake is an http.Handler; a Server runs one on 127.0.0.1 with a random
// port. Tests choose what each room answers (SetRoom, DeleteRoom, FailNext),
// add latency or a per-second call limit, and read what was called (Stats):
//
//	srv := tencenttest.NewServer(tencenttest.Options{
//		SDKAppID:   1400000000,
//		Identifier: "administrator",
//		SecretKey:  key,
//		RateLimit:  200,
//	})
//	defer srv.Close()
//	srv.SetRoom("room-1", tencenttest.Room{MemberCount: 2500}) // 10 pages of 100, 1000 listed
//	srv.SetRoom("room-2", tencenttest.Room{ErrorCode: 100006}) // not a live room
//	srv.SetRoom("room-3", tencenttest.Room{HTTPStatus: 502})   // a failing proxy
//	srv.FailNext("room-1", 100001, 2)                          // two transient failures first
//	// ... point the client at srv.URL and count room-1's members ...
//	if got := srv.Stats().CallsByRoom["room-1"]; got != 3 {
//		// the client did not retry twice as expected
//	}
//
// # How a call is answered
//
// Only POST /v4/live_engine_http_srv/get_member_list is served: other paths
// answer HTTP 404 and other methods 405. Every other answer is HTTP 200 with
// {"ActionStatus","ErrorCode","ErrorInfo","RequestId"} and, on success only,
// "Response", unless a Room asks for an HTTP status or a raw body. The checks
// run in this order and the first failure answers:
//
//  1. Query string (counted in Stats.AuthFailures): unparsable query, a
//     random that is not a uint32 or contenttype other than json: 60002;
//     sdkappid missing: 60012; not a number: 60006; another number: 70016;
//     usersig verified against the query's identifier with VerifyUserSig
//     (70002, 70003, 70014, 70013, 70001, 70009); identifier that is not
//     Options.Identifier but holds a valid UserSig: 60010.
//  2. Rate limit: if the last second already holds Options.RateLimit accepted
//     calls, 60007 (counted in Stats.RateLimited, not itself accepted).
//  3. Body: not JSON at all (also empty or over 1 MiB): 60003; JSON but not an
//     object with a non-empty string "RoomId" and a string "Next" (names are
//     case-sensitive), or a malformed Next token (the fake issues "next_N"
//     with N at most 1000): 100002.
//  4. FailNext injections for the room (counted in Stats.Injected).
//  5. The room: a room never set or deleted answers 100004; otherwise
//     Room.Latency, then Room.HTTPStatus, Room.RawBody, Room.ErrorCode, and
//     finally a page of members.
//
// The answer is decided when the call arrives; the latency from SetLatency
// (every call on the path) and Room.Latency (calls that reach step 5) is then
// waited before it is written, ending early without an answer if the client
// gives up or the Server is closed.
package tencenttest
