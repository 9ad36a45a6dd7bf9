// Package tencenttest is a fake of Tencent Cloud's live room REST API
// v4/live_engine_http_srv/, commands get_member_list, get_room_list,
// get_room_info and get_room_stats, for tests, load tests and the
// exporter's demo mode.
//
// It knows nothing about Prometheus and deliberately does not import the
// project's tencent package: its UserSig v2 verifier (DecodeUserSig,
// VerifyUserSig) is an independent implementation, so a test that drives the
// real client against a Fake cross-checks the client's signer.
//
// A Fake is an http.Handler; a Server runs one on 127.0.0.1 with a random
// port. Tests choose what each room answers (SetRoom, DeleteRoom, FailNext),
// add latency or per-second call limits, and read what was called (Stats):
//
//	srv := tencenttest.NewServer(tencenttest.Options{
//		SDKAppID:          1400000000,
//		Identifier:        "administrator",
//		SecretKey:         key,
//		RateLimit:         200, // get_member_list
//		RoomListRateLimit: 10,
//	})
//	defer srv.Close()
//	srv.SetRoom("room-1", tencenttest.Room{MemberCount: 2500, ViewCount: 9000}) // 10 pages of 100, 1000 listed
//	srv.SetRoom("room-2", tencenttest.Room{ErrorCode: 100006})                  // not a live room
//	srv.SetRoom("room-3", tencenttest.Room{HTTPStatus: 502})                    // a failing proxy
//	srv.SetRoom("room-4", tencenttest.Room{Owner: "12345", OwnerAsNumber: true, Private: true})
//	srv.FailNext("room-1", 100001, 2)                                           // two transient failures first
//	// ... point the client at srv.URL and count room-1's members ...
//	if got := srv.Stats().CallsByRoom["room-1"]; got != 3 {
//		// the client did not retry twice as expected
//	}
//
// # How a call is answered
//
// POST ServicePath + command is served for the four commands of
// live_engine_http_srv (MemberListPath, RoomListPath, RoomInfoPath,
// RoomStatsPath), and MicServicePath + get_seat_list (SeatListPath) for a
// Room's Seats: other paths answer HTTP 404
// and other methods 405. Every other answer is HTTP 200 with
// {"ActionStatus","ErrorCode","ErrorInfo","RequestId"} and, on success only,
// "Response", unless a Room asks for an HTTP status or a raw body. The checks
// run in this order and the first failure answers:
//
//  1. Query string (counted in Stats.AuthFailures), the same for every
//     command: unparsable query, a random that is not a uint32 or
//     contenttype other than json: 60002; sdkappid missing: 60012; not a
//     number: 60006; another number: 70016; usersig verified against the
//     query's identifier with VerifyUserSig (70002, 70003, 70014, 70013,
//     70001, 70009); identifier that is not Options.Identifier but holds a
//     valid UserSig: 60010.
//  2. Rate limits, each over a sliding second of accepted calls (calls
//     that passed both limits; rejected calls do not count): if all
//     commands together already reached Options.AppRateLimit, 60011
//     (Stats.AppRateLimited); else if the command already reached its own
//     limit (Options.RateLimit for get_member_list, RoomListRateLimit,
//     RoomInfoRateLimit, RoomStatsRateLimit, SeatListRateLimit), 60007
//     (Stats.RateLimitedByCommand; for get_member_list also
//     Stats.RateLimited). The commands' limits are independent: 200
//     get_member_list and 10 get_room_list calls in the same second pass
//     limits of 200 and 10.
//  3. Body: not JSON at all (also empty or over 1 MiB): 60003; JSON but not
//     what the command takes (names are case-sensitive): 100002.
//     get_member_list takes an object with a non-empty string "RoomId" and a
//     string "Next" (the fake issues "next_N" with N at most 1000);
//     get_room_info takes a non-empty string "RoomId", get_room_stats one of
//     at most 48 bytes; get_room_list takes a string "Next" ("" or a token
//     of a previous page) and an integer "Count" from 1 to 20.
//  4. Injections (counted in Stats.Injected): FailNext and FailNextCommand
//     for the command and room, FailListPage for the get_room_list page.
//  5. The answer. A room-scoped command about a room never set or deleted
//     answers 100004; otherwise Room.Latency, then Room.HTTPStatus, the
//     command's raw body (Room.RawBody, InfoRawBody or StatsRawBody),
//     Room.ErrorCode (for every command), and finally the data.
//     get_room_list answers SetRoomListRawBody's body if set, else a page.
//
// The answer is decided when the call arrives; the latency from SetLatency
// (every call on a served path) and Room.Latency (calls that reach step 5)
// is then waited before it is written, ending early without an answer if the
// client gives up or the Server is closed.
//
// # Listing rooms
//
// get_room_list lists the rooms that exist and are neither Private nor
// answering ErrorCode 100004 or 100006, sorted by ViewCount descending, ties
// by RoomId, Count per page. Next is an opaque token holding the page number
// and the offset of the page's first room; the order is recomputed for
// every page, so a room whose ViewCount changes while a caller pages can
// move across pages: a room moving up shifts the rooms it passes down, so
// one of them is listed twice and the mover, if unread, not at all; a room
// moving down can be listed twice. Callers must de-duplicate by RoomId. With
// Options.EndlessRoomList (SetEndlessRoomList) the last page's Next starts
// over, for testing a caller's page cap.
//
// # Room statistics
//
// get_room_stats answers Room.Stats when any of it is non-zero. Otherwise it
// answers counters the fake keeps per room, which start at zero when
// SetRoom creates the room (never set, or deleted since: DeleteRoom then
// SetRoom starts them again from zero) and grow with the audience: each
// second that MemberCount m people are present adds m/10 likes, m/20
// messages, m/100 gifts (10 coins each), m/400 unique gift senders and m/60
// viewers (turnover); every rise of MemberCount through SetRoom (and the
// MemberCount a room is created with) adds that many viewers at once. Time
// runs on the clock of the rate limits, not Options.Now, and counters are
// brought up to date when get_room_stats or SetRoom is called, so they grow
// in proportion to MemberCount and the time between calls. While
// Room.FreezeStats is set nothing grows (neither time nor joins count).
//
// # Statistics
//
// Stats keeps the meaning its fields had when the fake served only
// get_member_list: Calls, CallsByRoom, RateLimited and MaxPerSecond count
// get_member_list alone. AuthFailures, Injected and MaxInFlight count every
// command. The ...ByCommand maps, AppRateLimited and MaxPerSecondAll count
// each command and all together.
package tencenttest
