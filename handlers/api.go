package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
)

// Body limits of the JSON API.
const (
	maxScoreBody = 1 << 20
	maxBatchBody = 5 << 20
	maxBatchSize = 1000
)

// scoreRequest is one transaction as the API takes it: the PaySim fields
// plus the caller's id, which makes scoring idempotent.
type scoreRequest struct {
	ExternalID string `json:"external_id"`
	scoring.Transaction
	IsFraud *bool `json:"isFraud,omitempty"`
}

// scoreResponse is a scored transaction as the API returns it.
type scoreResponse struct {
	ID          string              `json:"id"`
	ExternalID  string              `json:"external_id"`
	Created     bool                `json:"created"`
	ReceivedAt  time.Time           `json:"received_at"`
	Source      string              `json:"source"`
	SubmittedBy *submittedBy        `json:"submitted_by,omitempty"`
	Transaction scoring.Transaction `json:"transaction"`
	Score       float64             `json:"score"`
	RawMargin   float64             `json:"raw_margin"`
	Band        string              `json:"band"`
	ModelBand   string              `json:"model_band"`
	Override    string              `json:"override,omitempty"`
	Trusted     bool                `json:"trusted,omitempty"`
	Review      bool                `json:"review"`
	Threshold   float64             `json:"threshold"`
	Model       live.FrozenModel    `json:"model"`
	Explanation apiExplanation      `json:"explanation"`
	LatencyUS   int64               `json:"latency_us"`
}

// submittedBy names who sent a transaction: an API key or a user, by id.
type submittedBy struct {
	Kind string `json:"kind"` // "api_key" or "user"
	ID   string `json:"id"`
}

func submittedByOf(tx *store.Transaction) *submittedBy {
	switch {
	case tx.SubmittedByKey != nil:
		return &submittedBy{Kind: "api_key", ID: *tx.SubmittedByKey}
	case tx.SubmittedByUser != nil:
		return &submittedBy{Kind: "user", ID: *tx.SubmittedByUser}
	}
	return nil
}

// apiInput is a request's transaction as the scorer takes it, marked as
// sent through the API by the caller's key or, with a session, its user.
func apiInput(p *principal, req scoreRequest) live.Input {
	in := live.Input{ExternalID: req.ExternalID, Tx: req.Transaction, IsFraud: req.IsFraud, Source: store.SourceAPI}
	if p.APIKey != nil {
		in.KeyID = p.APIKey.ID
	} else if p.User != nil {
		in.UserID = p.User.ID
	}
	return in
}

type apiExplanation struct {
	BaseValue float64                `json:"base_value"`
	Top       []scoring.Contribution `json:"top"`
	Summary   string                 `json:"summary"`
}

// toResponse shapes a stored transaction for the API. fe is its frozen
// explanation when the caller has it in hand; nil decodes the stored one.
func toResponse(s *store.Scored, fe *live.Frozen, created bool) (scoreResponse, error) {
	if fe == nil {
		var err error
		if fe, err = live.DecodeFrozen(s); err != nil {
			return scoreResponse{}, err
		}
	}
	tx := s.Transaction
	top := fe.Explanation.Top
	if len(top) > scoring.DefaultTopK {
		top = top[:scoring.DefaultTopK]
	}
	return scoreResponse{
		ID: tx.ID, ExternalID: tx.ExternalID, Created: created, ReceivedAt: tx.ReceivedAt,
		Source: tx.Source, SubmittedBy: submittedByOf(&tx),
		Transaction: scoring.Transaction{Step: tx.Step, Type: tx.Type, Amount: tx.Amount, NameOrig: tx.NameOrig,
			OldBalanceOrg: tx.OldBalanceOrg, NewBalanceOrig: tx.NewBalanceOrig, NameDest: tx.NameDest,
			OldBalanceDest: tx.OldBalanceDest, NewBalanceDest: tx.NewBalanceDest,
			OrigCountry: tx.OrigCountry, DestCountry: tx.DestCountry, OrigRegion: tx.OrigRegion, DestRegion: tx.DestRegion},
		Score: s.Prediction.Score, RawMargin: s.Prediction.RawMargin, Band: s.Prediction.Band,
		ModelBand: string(fe.Result.ModelBand), Override: fe.Result.Override, Trusted: fe.Result.Trusted,
		Review: fe.Result.Review, Threshold: s.Prediction.Threshold, Model: fe.Model,
		Explanation: apiExplanation{BaseValue: fe.Explanation.BaseValue, Top: top, Summary: fe.Explanation.Summary},
		LatencyUS:   s.Prediction.LatencyUS,
	}, nil
}

// readBody reads a JSON body of at most limit bytes, refusing one that is
// not valid UTF-8 or that escapes a NUL character.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, limit)
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyProblem(err)
	}
	if !cleanJSON(body) {
		return nil, newProblem(http.StatusBadRequest, "the body must be UTF-8 text without NUL characters")
	}
	return body, nil
}

// decodeStrict reads one JSON value with no unknown fields from r.
func decodeStrict(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyProblem(err)
	}
	if dec.More() {
		return newProblem(http.StatusBadRequest, "malformed JSON: more than one value in the body")
	}
	return nil
}

// bodyProblem tells the client why its body could not be read or decoded.
func bodyProblem(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return newProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit))
	}
	return newProblem(http.StatusBadRequest, "malformed JSON: "+err.Error())
}

// externalIDError checks a caller's id.
func externalIDError(id string) *scoring.FieldError {
	if msg := scoring.ExternalIDProblem(id); msg != "" {
		return &scoring.FieldError{Field: "external_id", Message: msg}
	}
	return nil
}

// scoreOne scores one request, mapping validation failures to field errors.
func (s *Server) scoreOne(c echo.Context, req scoreRequest) (scoreResponse, []scoring.FieldError, error) {
	p := currentPrincipal(c)
	if fe := externalIDError(req.ExternalID); fe != nil {
		return scoreResponse{}, []scoring.FieldError{*fe}, nil
	}
	scored, fe, created, err := s.scorer.Score(c.Request().Context(), p.Tenant, apiInput(p, req))
	var ve *scoring.ValidationError
	if errors.As(err, &ve) {
		return scoreResponse{}, ve.Fields, nil
	}
	if errors.Is(err, live.ErrNoModel) {
		return scoreResponse{}, nil, newProblem(http.StatusServiceUnavailable, "no production model is active for this tenant; an admin must promote one")
	}
	if err != nil {
		return scoreResponse{}, nil, err
	}
	res, err := toResponse(scored, fe, created)
	return res, nil, err
}

// APIScore scores one transaction: 201 when new, 200 when the external id
// was scored before (the stored result, nothing written).
func (s *Server) APIScore(c echo.Context) error {
	body, err := readBody(c, maxScoreBody)
	if err != nil {
		return err
	}
	var req scoreRequest
	if err := decodeStrict(bytes.NewReader(body), &req); err != nil {
		return err
	}
	res, fields, err := s.scoreOne(c, req)
	if err != nil {
		return err
	}
	if fields != nil {
		return newProblem(http.StatusUnprocessableEntity, "the transaction is invalid", fields...)
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	return c.JSON(status, res)
}

// batchItem is one entry of a batch response: a result or its errors.
type batchItem struct {
	Index  int                  `json:"index"`
	Result *scoreResponse       `json:"result,omitempty"`
	Errors []scoring.FieldError `json:"errors,omitempty"`
}

// APIScoreBatch scores 1 to 1,000 transactions. Invalid items are reported
// by index with their field errors; the valid ones are scored all the same.
func (s *Server) APIScoreBatch(c echo.Context) error {
	p := currentPrincipal(c)
	body, err := readBody(c, maxBatchBody)
	if err != nil {
		return err
	}
	items, malformed, err := decodeBatch(body)
	if err != nil {
		return err
	}
	out := struct {
		Scored  int         `json:"scored"`
		Invalid int         `json:"invalid"`
		Items   []batchItem `json:"items"`
	}{Items: make([]batchItem, len(items))}
	var ins []live.Input
	var at []int // index in the request of each input
	for i, one := range items {
		out.Items[i].Index = i
		if malformed != nil && malformed[i] != "" {
			out.Items[i].Errors = []scoring.FieldError{{Field: "", Message: "malformed transaction: " + malformed[i]}}
			continue
		}
		if fe := externalIDError(one.ExternalID); fe != nil {
			out.Items[i].Errors = []scoring.FieldError{*fe}
			continue
		}
		ins = append(ins, apiInput(p, one))
		at = append(at, i)
	}
	results, err := s.scorer.ScoreBatch(c.Request().Context(), p.Tenant, ins,
		&live.BatchAudit{Actor: actorOf(c, p), Refused: len(items) - len(ins)})
	if errors.Is(err, live.ErrNoModel) {
		return newProblem(http.StatusServiceUnavailable, "no production model is active for this tenant; an admin must promote one")
	}
	if err != nil {
		return err
	}
	for k, r := range results {
		item := &out.Items[at[k]]
		var ve *scoring.ValidationError
		if errors.As(r.Invalid, &ve) {
			item.Errors = ve.Fields
			continue
		}
		res, err := toResponse(r.Scored, r.Frozen, r.Created)
		if err != nil {
			return err
		}
		item.Result = &res
	}
	for _, it := range out.Items {
		if it.Errors != nil {
			out.Invalid++
		} else {
			out.Scored++
		}
	}
	answer, err := batchJSON(out.Scored, out.Invalid, out.Items)
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, answer)
}

// batchJSON writes a batch answer as c.JSON would, but appends each result
// by hand: up to 1,000 of them per request, where encoding/json's
// reflection was a seventh of the server's work. A test holds it byte for
// byte to encoding/json.
func batchJSON(scored, invalid int, items []batchItem) ([]byte, error) {
	b := make([]byte, 0, 1536*len(items))
	b = fmt.Appendf(b, `{"scored":%d,"invalid":%d,"items":[`, scored, invalid)
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		it := &items[i]
		if it.Result == nil || it.Errors != nil {
			j, err := json.Marshal(it)
			if err != nil {
				return nil, fmt.Errorf("encode batch item %d: %w", i, err)
			}
			b = append(b, j...)
			continue
		}
		b = fmt.Appendf(b, `{"index":%d,"result":`, it.Index)
		b = it.Result.appendJSON(b)
		b = append(b, '}')
	}
	return append(b, "]}\n"...), nil
}

// appendJSON appends r as encoding/json writes it (see batchJSON).
func (r *scoreResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = live.AppendJSONString(b, r.ID)
	b = append(b, `,"external_id":`...)
	b = live.AppendJSONString(b, r.ExternalID)
	b = append(b, `,"created":`...)
	b = strconv.AppendBool(b, r.Created)
	b = append(b, `,"received_at":"`...)
	b = r.ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	tx := &r.Transaction
	b = append(b, `","source":`...)
	b = live.AppendJSONString(b, r.Source)
	if r.SubmittedBy != nil {
		b = append(b, `,"submitted_by":{"kind":`...)
		b = live.AppendJSONString(b, r.SubmittedBy.Kind)
		b = append(b, `,"id":`...)
		b = live.AppendJSONString(b, r.SubmittedBy.ID)
		b = append(b, '}')
	}
	b = append(b, `,"transaction":{"step":`...)
	b = strconv.AppendInt(b, int64(tx.Step), 10)
	b = append(b, `,"type":`...)
	b = live.AppendJSONString(b, tx.Type)
	b = append(b, `,"amount":`...)
	b = live.AppendJSONFloat(b, tx.Amount)
	b = append(b, `,"nameOrig":`...)
	b = live.AppendJSONString(b, tx.NameOrig)
	b = append(b, `,"oldbalanceOrg":`...)
	b = live.AppendJSONFloat(b, tx.OldBalanceOrg)
	b = append(b, `,"newbalanceOrig":`...)
	b = live.AppendJSONFloat(b, tx.NewBalanceOrig)
	b = append(b, `,"nameDest":`...)
	b = live.AppendJSONString(b, tx.NameDest)
	b = append(b, `,"oldbalanceDest":`...)
	b = live.AppendJSONFloat(b, tx.OldBalanceDest)
	b = append(b, `,"newbalanceDest":`...)
	b = live.AppendJSONFloat(b, tx.NewBalanceDest)
	for _, g := range [...]struct{ key, v string }{{`,"orig_country":`, tx.OrigCountry}, {`,"dest_country":`, tx.DestCountry},
		{`,"orig_region":`, tx.OrigRegion}, {`,"dest_region":`, tx.DestRegion}} {
		if g.v != "" {
			b = append(b, g.key...)
			b = live.AppendJSONString(b, g.v)
		}
	}
	b = append(b, `},"score":`...)
	b = live.AppendJSONFloat(b, r.Score)
	b = append(b, `,"raw_margin":`...)
	b = live.AppendJSONFloat(b, r.RawMargin)
	b = live.AppendVerdict(b, r.Band, r.ModelBand, r.Override, r.Trusted, r.Review)
	b = append(b, `,"threshold":`...)
	b = live.AppendJSONFloat(b, r.Threshold)
	b = append(b, `,"model":`...)
	b = r.Model.AppendJSON(b)
	b = append(b, `,"explanation":{"base_value":`...)
	b = live.AppendJSONFloat(b, r.Explanation.BaseValue)
	b = append(b, `,"top":`...)
	if r.Explanation.Top == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Explanation.Top {
			if i > 0 {
				b = append(b, ',')
			}
			b = live.AppendContribution(b, &r.Explanation.Top[i], true)
		}
		b = append(b, ']')
	}
	b = append(b, `,"summary":`...)
	b = live.AppendJSONString(b, r.Explanation.Summary)
	b = append(b, `},"latency_us":`...)
	b = strconv.AppendInt(b, r.LatencyUS, 10)
	return append(b, '}')
}

// decodeBatch reads a batch body into its items. A well-formed batch is
// decoded in one pass; when any item is malformed, each item is decoded on
// its own, so that the others are still scored and malformed[i] says what
// is wrong with item i.
func decodeBatch(body []byte) (items []scoreRequest, malformed []string, err error) {
	var fast struct {
		Transactions []scoreRequest `json:"transactions"`
	}
	if decodeStrict(bytes.NewReader(body), &fast) == nil {
		items = fast.Transactions
	} else {
		var req struct {
			Transactions []json.RawMessage `json:"transactions"`
		}
		if err := decodeStrict(bytes.NewReader(body), &req); err != nil {
			return nil, nil, err
		}
		items = make([]scoreRequest, len(req.Transactions))
		malformed = make([]string, len(req.Transactions))
		for i, raw := range req.Transactions {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&items[i]); err != nil {
				malformed[i] = err.Error()
			}
		}
	}
	if n := len(items); n < 1 || n > maxBatchSize {
		return nil, nil, newProblem(http.StatusUnprocessableEntity, fmt.Sprintf("a batch holds 1 to %d transactions, this one %d", maxBatchSize, n),
			scoring.FieldError{Field: "transactions", Message: fmt.Sprintf("must hold 1 to %d items", maxBatchSize)})
	}
	return items, malformed, nil
}

// APITransaction returns one scored transaction of the caller's tenant.
func (s *Server) APITransaction(c echo.Context) error {
	scored, err := store.GetScored(c.Request().Context(), currentPrincipal(c).Tenant, c.Param("id"))
	return storedAnswer(c, scored, err)
}

// APITransactionByExternalID returns the caller's tenant's transaction with
// the caller's own id (?external_id=): 404 when the tenant has none.
func (s *Server) APITransactionByExternalID(c echo.Context) error {
	id := c.QueryParam("external_id")
	if id == "" {
		return newProblem(http.StatusBadRequest, "give the transaction's external_id as a query parameter",
			scoring.FieldError{Field: "external_id", Message: "is required"})
	}
	if fe := externalIDError(id); fe != nil {
		return newProblem(http.StatusBadRequest, "the external_id is invalid", *fe)
	}
	scored, err := store.GetScoredByExternalID(c.Request().Context(), currentPrincipal(c).Tenant, id)
	return storedAnswer(c, scored, err)
}

// storedAnswer answers a stored transaction read back, or the error of
// reading it.
func storedAnswer(c echo.Context, scored *store.Scored, err error) error {
	if err != nil {
		return err
	}
	res, err := toResponse(scored, nil, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// apiAuth authenticates the JSON API: a Bearer API key, or else the browser
// session (with its CSRF check).
func (s *Server) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	// A caller with neither key nor session hears 401 before any CSRF check.
	withSession := s.loadSession(s.loadUser(func(c echo.Context) error {
		if currentPrincipal(c) == nil {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="sentinel"`)
			return newProblem(http.StatusUnauthorized, "send an API key as Authorization: Bearer <key>, or sign in")
		}
		return s.csrf(next)(c)
	}))
	return func(c echo.Context) error {
		auth := c.Request().Header.Get(echo.HeaderAuthorization)
		if auth == "" {
			return withSession(c)
		}
		secret, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			return newProblem(http.StatusUnauthorized, "the Authorization header must be Bearer <key>")
		}
		key, err := s.keys.authenticate(c.Request().Context(), s.db, strings.TrimSpace(secret))
		if errors.Is(err, store.ErrNotFound) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="sentinel", error="invalid_token"`)
			return newProblem(http.StatusUnauthorized, "the API key is unknown or revoked")
		}
		if err != nil {
			return err
		}
		if ok, wait := s.limiter.allow(key.ID, time.Now()); !ok {
			c.Response().Header().Set("Retry-After", retryAfter(wait))
			return newProblem(http.StatusTooManyRequests, fmt.Sprintf("this API key is limited to %g requests a second; retry after the time in Retry-After", float64(s.limiter.rate)))
		}
		c.Set(ctxUser, &principal{Tenant: store.ForTenant(s.db, key.TenantID), APIKey: key})
		return next(c)
	}
}

// allowAPI lets an API key through when it has scope, and a signed-in user
// when their role has permission perm; anyone else hears 403.
func (s *Server) allowAPI(scope string, perm Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := currentPrincipal(c)
			switch {
			case p.APIKey != nil && !p.APIKey.HasScope(scope):
				return newProblem(http.StatusForbidden, fmt.Sprintf("this API key lacks the %q scope; an admin can create a key with it", scope))
			case p.User != nil && !Can(p.User.Role, perm):
				return newProblem(http.StatusForbidden, "your role does not allow this")
			}
			return next(c)
		}
	}
}
