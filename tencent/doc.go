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
// Upstream documentation:
// https://www.tencentcloud.com/document/product/1071/78156 (get_member_list)
// and https://trtc.io/document/34385 (UserSig).
package tencent
