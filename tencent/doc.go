// Package tencent speaks Tencent Cloud's live room REST API
// (TUILiveKit / TRTC "live_engine_http_srv"): it signs requests with
// UserSig v2, sends them to a regional domain or an explicit base URL and
// maps every failure to a typed error with a short, stable code.
//
// It knows nothing of Prometheus: the collector package imports it, never
// the reverse.
//
// Usage:
//
//	signer := tencent.NewSigner(1400000000, "administrator", secretKey)
//	client, err := tencent.NewClient(1400000000, "administrator", signer,
//		tencent.WithRegion("singapore"))
//	if err != nil {
//		return err
//	}
//	list, err := client.GetMemberList(ctx, "live-1001")
//	if err != nil {
//		log.Printf("code=%s class=%s: %v", tencent.ErrorCode(err), tencent.Classify(err), err)
//		return err
//	}
//	fmt.Println(list.MemberCount)
//
// Besides get_member_list, the client reads one page of the app's public
// rooms (GetRoomList; pages may repeat or skip rooms whose ViewCount
// changes meanwhile, so de-duplicate by RoomID), one room's description
// (GetRoomInfo) and its cumulative counters (GetRoomStats). Every request
// passes the RequestGate and RequestObserver under its command's name
// (CommandGetMemberList, CommandGetRoomList, ...), since the upstream limits
// each command on its own. Decoding is lenient where the upstream's docs
// disagree (an Owner_Account may be a number, TakeSeatMode an int, any
// integer may be written 12.0) and strict where a wrong answer would pass
// for data: a successful answer missing what its command promises is a
// "decode" error.
//
// Upstream documentation:
// https://www.tencentcloud.com/document/product/1071/78156 (get_member_list),
// https://www.tencentcloud.com/document/product/1071/76888 (get_room_list),
// https://cloud.tencent.com/document/product/647/63404 (get_room_info),
// https://www.tencentcloud.com/document/product/1071/80478 (get_room_stats)
// and https://trtc.io/document/34385 (UserSig).
package tencent
