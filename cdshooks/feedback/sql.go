package feedback

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// SQL is a Store in SQLite or PostgreSQL. Both run the same statements
// (portable SQL with $n placeholders, which SQLite accepts too), so the two
// cannot drift apart.
type SQL struct {
	db   *sql.DB
	kind string
	// insertCards holds one prepared INSERT per size in cardChunks: a batch
	// of any size is stored through a few of them, so neither database
	// parses a statement per write (parsing the INSERT of a call's six
	// cards had cost SQLite as much as storing them).
	insertCards map[int]*sql.Stmt
}

var _ Store = (*SQL)(nil)

// openSQLite opens (creating it if needed) the SQLite file at path, in WAL
// mode so that reads never wait for the writer.
func openSQLite(ctx context.Context, path string) (*SQL, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store sqlite: the path %q may not contain ? or #", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store sqlite: creating its directory: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, fmt.Errorf("store sqlite: %w", err)
	}
	// secure_delete: a purged row's bytes are overwritten with zeros, not
	// left readable in free pages of the file.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)" +
		"&_pragma=secure_delete(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store sqlite: opening %s: %w", path, err)
	}
	return prepare(ctx, &SQL{db: db, kind: KindSQLite})
}

// ownerOnly makes the database file, and the write-ahead log and shared
// memory files SQLite keeps beside it, readable by the owner only: the file
// is created 0600 when missing (SQLite gives its -wal and -shm files the
// database file's mode), and files left looser by an earlier version are
// tightened. The history is pseudonymised, but the file is still no one
// else's to read.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("checking %s: %w", p, err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("making %s readable by its owner only: %w", p, err)
			}
		}
	}
	return nil
}

// openPostgres connects to PostgreSQL through pgx. Errors never carry the
// password (pgx redacts it from the connection strings it reports).
func openPostgres(ctx context.Context, dsn string, o openOptions) (*SQL, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store postgres: %w", err)
	}
	if o.passwordFile != "" {
		password, err := readSecretFile(o.passwordFile)
		if err != nil {
			return nil, fmt.Errorf("store postgres: password file: %w", err)
		}
		cfg.Password = password
	}
	// One request's snooze lookup must never wait for a connection long.
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return prepare(ctx, &SQL{db: db, kind: KindPostgres})
}

// prepare checks the database answers, applies the missing migrations and
// prepares the statements every write uses.
func prepare(ctx context.Context, s *SQL) (*SQL, error) {
	if err := s.db.PingContext(ctx); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("store %s: connecting: %w", s.kind, err)
	}
	if err := migrate(ctx, s.db, s.kind); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("store %s: %w", s.kind, err)
	}
	s.insertCards = make(map[int]*sql.Stmt, len(cardChunks))
	for _, rows := range cardChunks {
		stmt, err := s.db.PrepareContext(ctx, insertCardsSQL(rows))
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("store %s: preparing the INSERT of %d cards: %w", s.kind, rows, err)
		}
		s.insertCards[rows] = stmt
	}
	return s, nil
}

// cardChunks are the sizes of the prepared card INSERTs, largest first:
// a batch of n cards takes at most three statements of each size, and the
// largest stays far below the parameter limits (cardColumns a row: SQLite
// allows 32766, PostgreSQL 65535).
var cardChunks = [...]int{256, 64, 16, 4, 1}

// cardColumns is how many values one card row takes.
const cardColumns = 10

// insertCardsSQL is the INSERT of rows cards.
func insertCardsSQL(rows int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO cards (uuid, service, topic, knowledge_version, fingerprint, patient, issued_at,
	                                  issuer, suggestions, reasons) VALUES `)
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for c := range cardColumns {
			if c > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$%d", cardColumns*i+c+1)
		}
		q.WriteString(")")
	}
	return q.String()
}

// Kind is KindSQLite or KindPostgres.
func (s *SQL) Kind() string { return s.kind }

// Close closes the database.
func (s *SQL) Close() error {
	var errs []error
	for _, stmt := range s.insertCards {
		errs = append(errs, stmt.Close())
	}
	return errors.Join(append(errs, s.db.Close())...)
}

// Write stores b in one transaction. Each row is checked first (caps,
// valid UTF-8, no NUL) and one that fails is left out; each feedback item
// and snooze is then written under its own savepoint, so that one the
// database refuses is rolled back alone and never takes the batch (other
// callers' cards, feedback and snoozes) with it. Cards, checked, go many to
// a statement: nothing in a valid card row can be refused.
func (s *SQL) Write(ctx context.Context, b Batch) (err error) {
	if b.Empty() {
		return nil
	}
	var rej rejections
	cards := make([]Card, 0, len(b.Cards))
	for _, c := range b.Cards {
		if err := checkCard(c); err != nil {
			rej.add(err)
			continue
		}
		cards = append(cards, c)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a write: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// Cards come by the hundred: many rows per statement, so a busy
	// database spends its time storing rows, not parsing statements or
	// answering one round trip per row.
	args := make([]any, 0, cardColumns*min(len(cards), cardChunks[0]))
	for rest := cards; len(rest) > 0; {
		size := largestChunk(len(rest))
		args = args[:0]
		for _, c := range rest[:size] {
			args = append(args, c.UUID, c.Service, c.Topic, c.KnowledgeVersion, c.Fingerprint, c.Patient, millis(c.IssuedAt),
				c.Issuer, strings.Join(c.Suggestions, listSeparator), joinCodings(c.Reasons))
		}
		if _, err = tx.StmtContext(ctx, s.insertCards[size]).ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("storing cards: %w", err)
		}
		rest = rest[size:]
	}
	// The knowledge version is the card's as last issued, so the report can
	// say which version of the content was accepted or overridden.
	for _, o := range b.Outcomes {
		if err = isolated(ctx, tx, &rej, checkOutcome(o), func() error {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO outcomes (card, service, topic, knowledge_version, outcome, reason_system, reason_code,
				                       accepted_suggestions, outcome_at, received_at)
				 VALUES ($1, $2, $3, COALESCE((SELECT knowledge_version FROM cards WHERE uuid = $1
				                               ORDER BY issued_at DESC LIMIT 1), ''),
				         $4, $5, $6, $7, $8, $9)`,
				o.Card, o.Service, o.Topic, o.Outcome, o.ReasonSystem, o.ReasonCode,
				o.AcceptedSuggestions, millis(o.At), millis(o.ReceivedAt))
			return err
		}); err != nil {
			return fmt.Errorf("storing feedback: %w", err)
		}
	}
	// written_at is the wall clock, not the Recorder's: it orders writes for
	// SnoozesInForce, whatever clock the snoozes themselves were decided by.
	written := millis(time.Now())
	for _, z := range b.Snoozes {
		if err = isolated(ctx, tx, &rej, checkSnooze(z), func() error {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO snoozes (id, card, service, topic, knowledge_version, reason, snoozed_from, snoozed_until, written_at)
				 VALUES ($1, $2, $3, $4, COALESCE((SELECT knowledge_version FROM cards WHERE uuid = $2
				                                   ORDER BY issued_at DESC LIMIT 1), ''), $5, $6, $7, $8)
				 ON CONFLICT (id) DO UPDATE SET card = excluded.card, service = excluded.service,
				   topic = excluded.topic, knowledge_version = excluded.knowledge_version,
				   reason = excluded.reason, snoozed_from = excluded.snoozed_from, snoozed_until = excluded.snoozed_until,
				   written_at = excluded.written_at`,
				z.ID, z.Card, z.Service, z.Topic, z.Reason, millis(z.From), millis(z.Until), written)
			return err
		}); err != nil {
			return fmt.Errorf("storing a snooze: %w", err)
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("committing a write: %w", err)
	}
	return rej.err()
}

// isolated writes one row under a savepoint: a row that failed its check
// (invalid) is left out at once; one the database refuses is rolled back
// alone and left out. Either is added to rej. The error returned is one
// that ends the whole write: the transaction itself failing, or ctx done.
func isolated(ctx context.Context, tx *sql.Tx, rej *rejections, invalid error, write func() error) error {
	if invalid != nil {
		rej.add(invalid)
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT row`); err != nil {
		return err
	}
	if werr := write(); werr != nil {
		if ctx.Err() != nil {
			return werr
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT row`); err != nil {
			return errors.Join(werr, err)
		}
		rej.add(werr)
	}
	_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT row`)
	return err
}

// Issued returns, of the card uuids given, those issued to issuer, each
// with the suggestions and override reasons it carried when last issued
// to that caller.
func (s *SQL) Issued(ctx context.Context, issuer string, cards []string) (map[string]IssuedCard, error) {
	out := make(map[string]IssuedCard, len(cards))
	for _, uuid := range cards {
		if _, seen := out[uuid]; seen || checkText("card uuid", uuid, maxIDLength) != nil ||
			checkText("issuer", issuer, maxIssuerLength) != nil {
			continue
		}
		var c IssuedCard
		var suggestions, reasons string
		err := s.db.QueryRowContext(ctx,
			`SELECT topic, suggestions, reasons FROM cards WHERE uuid = $1 AND issuer = $2
			 ORDER BY issued_at DESC LIMIT 1`, uuid, issuer).Scan(&c.Topic, &suggestions, &reasons)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the cards issued: %w", err)
		}
		c.Suggestions, c.Reasons = splitList(suggestions, listSeparator), splitCodings(reasons)
		out[uuid] = c
	}
	return out, nil
}

// largestChunk is the largest of cardChunks that n cards fill.
func largestChunk(n int) int {
	for _, size := range cardChunks {
		if size <= n {
			return size
		}
	}
	return 1
}

// Snoozed returns which of ids have a snooze in force at now.
func (s *SQL) Snoozed(ctx context.Context, ids []string, now time.Time) (map[string]bool, error) {
	out := make(map[string]bool)
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, millis(now))
	var q strings.Builder
	q.WriteString(`SELECT id FROM snoozes WHERE snoozed_until > $1 AND id IN (`)
	for i, id := range ids {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("$" + strconv.Itoa(i+2))
		args = append(args, id)
	}
	q.WriteString(")")
	rows, err := s.db.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("reading snoozes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading snoozes: %w", err)
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading snoozes: %w", err)
	}
	return out, nil
}

// SnoozesInForce lists the snoozes in force at now that were written at or
// after since (every one for the zero time), at most limit of them (any
// limit of them when there are more).
func (s *SQL) SnoozesInForce(ctx context.Context, now, since time.Time, limit int) ([]SnoozeEnd, error) {
	var out []SnoozeEnd
	err := s.queryRows(ctx,
		`SELECT id, snoozed_until FROM snoozes WHERE snoozed_until > $1 AND written_at >= $2 LIMIT $3`,
		func(rows *sql.Rows) error {
			var z SnoozeEnd
			var until int64
			if err := rows.Scan(&z.ID, &until); err != nil {
				return err
			}
			z.Until = time.UnixMilli(until)
			out = append(out, z)
			return nil
		}, millis(now), millis(since), limit)
	if err != nil {
		return nil, fmt.Errorf("listing the snoozes in force: %w", err)
	}
	return out, nil
}

// Purge deletes cards and feedback older than before, snoozes no longer in
// force at now, and token ids that can no longer be replayed.
func (s *SQL) Purge(ctx context.Context, before, now time.Time) error {
	for _, q := range []struct {
		what, sql string
		at        time.Time
	}{
		{"cards", `DELETE FROM cards WHERE issued_at < $1`, before},
		{"feedback", `DELETE FROM outcomes WHERE received_at < $1`, before},
		{"snoozes", `DELETE FROM snoozes WHERE snoozed_until <= $1`, now},
		{"token ids", `DELETE FROM seen_tokens WHERE valid_until <= $1`, now},
	} {
		if _, err := s.db.ExecContext(ctx, q.sql, millis(q.at)); err != nil {
			return fmt.Errorf("purging %s: %w", q.what, err)
		}
	}
	return nil
}

// SeenToken records that a token (iss and jti) was accepted, until it
// expires, and reports whether some replica already had: a replay. Only a
// SHA-256 of iss|jti is stored. It fits auth.ReplayCache.
func (s *SQL) SeenToken(ctx context.Context, issuer, jti string, until time.Time) (replayed bool, err error) {
	sum := sha256.Sum256([]byte(issuer + "|" + jti))
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO seen_tokens (token, valid_until) VALUES ($1, $2) ON CONFLICT (token) DO NOTHING`,
		hex.EncodeToString(sum[:]), millis(until))
	if err != nil {
		return false, fmt.Errorf("recording a token id: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording a token id: %w", err)
	}
	return n == 0, nil
}

// queryRows runs q and calls scan for each row.
func (s *SQL) queryRows(ctx context.Context, q string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// millis is t as Unix milliseconds, the unit of every time column.
func millis(t time.Time) int64 { return t.UnixMilli() }
