-- Booking core: accounts, catalogue, seat inventory, holds, bookings and the cluster registry.
-- Money is integer cents. The one rule that must never break — a seat of a showtime is sold at
-- most once — is the UNIQUE constraint on booking_seats; everything else is for friendly errors.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Only a SHA-256 of each session token is stored, so a database dump cannot be replayed as logins.
CREATE TABLE sessions (
  token_hash bytea PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE movies (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description  text NOT NULL DEFAULT '',
  genre        text NOT NULL,
  certificate  text NOT NULL DEFAULT 'PG-13',
  rating       numeric(3, 1) NOT NULL DEFAULT 0 CHECK (rating BETWEEN 0 AND 10),
  duration_min int NOT NULL CHECK (duration_min BETWEEN 1 AND 600),
  release_year int CHECK (release_year BETWEEN 1880 AND 2200),
  poster_hue   int NOT NULL DEFAULT 210 CHECK (poster_hue BETWEEN 0 AND 359),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX movies_title_key ON movies (lower(title));

-- layout: { categories: [{ code, name, priceCents, color }],
--           rows: [{ label, seats, category, aisleAfter?: int[], wheelchair?: int[] }] }
CREATE TABLE screens (
  id         int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL UNIQUE,
  layout     jsonb NOT NULL,
  seat_count int NOT NULL CHECK (seat_count > 0)
);

CREATE TABLE showtimes (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  movie_id   bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
  screen_id  int NOT NULL REFERENCES screens (id),
  starts_at  timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (screen_id, starts_at)
);
CREATE INDEX showtimes_movie_idx ON showtimes (movie_id, starts_at);

-- Per-showtime seat inventory. Prices are copied from the screen layout when the showtime is
-- created, so a later price change never alters a showtime already on sale. The hold and booking
-- columns are the seat's current state; a hold whose held_until has passed blocks nobody.
CREATE TABLE showtime_seats (
  showtime_id bigint NOT NULL REFERENCES showtimes (id) ON DELETE CASCADE,
  seat_id     text NOT NULL,
  row_label   text NOT NULL,
  seat_number int NOT NULL,
  category    text NOT NULL,
  price_cents int NOT NULL CHECK (price_cents >= 0),
  wheelchair  boolean NOT NULL DEFAULT false,
  hold_id     uuid,
  held_by     uuid,
  held_until  timestamptz,
  booking_id  uuid,
  PRIMARY KEY (showtime_id, seat_id)
);
CREATE INDEX showtime_seats_held_idx ON showtime_seats (held_until) WHERE held_until IS NOT NULL;
CREATE INDEX showtime_seats_booking_idx ON showtime_seats (booking_id) WHERE booking_id IS NOT NULL;

CREATE TABLE seat_holds (
  id          uuid PRIMARY KEY,
  showtime_id bigint NOT NULL REFERENCES showtimes (id) ON DELETE CASCADE,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  seat_ids    text[] NOT NULL,
  expires_at  timestamptz NOT NULL,
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'released', 'expired', 'booked')),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seat_holds_active_expiry_idx ON seat_holds (expires_at) WHERE status = 'active';
CREATE INDEX seat_holds_user_idx ON seat_holds (user_id);

-- logical_clock / vector_clock / processed_by / timestamp: the spec's distributed metadata.
CREATE TABLE bookings (
  id            uuid PRIMARY KEY,
  user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  showtime_id   bigint NOT NULL REFERENCES showtimes (id) ON DELETE CASCADE,
  hold_id       uuid,
  seat_ids      text[] NOT NULL,
  total_cents   int NOT NULL CHECK (total_cents >= 0),
  status        text NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'cancelled')),
  logical_clock bigint NOT NULL,
  vector_clock  jsonb NOT NULL,
  processed_by  text NOT NULL,
  "timestamp"   timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  cancelled_at  timestamptz
);
CREATE INDEX bookings_user_idx ON bookings (user_id, created_at DESC);
CREATE INDEX bookings_showtime_idx ON bookings (showtime_id);

-- The seats a confirmed booking holds. Cancelling deletes its rows (the booking keeps seat_ids),
-- so the constraint below is exactly "sold at most once among live bookings".
CREATE TABLE booking_seats (
  booking_id  uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
  showtime_id bigint NOT NULL,
  seat_id     text NOT NULL,
  price_cents int NOT NULL,
  CONSTRAINT booking_seats_one_sale_per_seat UNIQUE (showtime_id, seat_id),
  FOREIGN KEY (showtime_id, seat_id) REFERENCES showtime_seats (showtime_id, seat_id) ON DELETE CASCADE
);
CREATE INDEX booking_seats_booking_idx ON booking_seats (booking_id);

-- Successful booking responses by (user, Idempotency-Key), replayed for a repeated request.
CREATE TABLE idempotency_keys (
  user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status_code  int NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);

CREATE TABLE server_nodes (
  id             text PRIMARY KEY,
  host           text NOT NULL,
  port           int NOT NULL,
  priority       int NOT NULL DEFAULT 0,
  status         text NOT NULL DEFAULT 'alive',
  is_leader      boolean NOT NULL DEFAULT false,
  epoch          bigint NOT NULL DEFAULT 0,
  pid            int,
  started_at     timestamptz NOT NULL DEFAULT now(),
  last_heartbeat timestamptz NOT NULL DEFAULT now(),
  metadata       jsonb NOT NULL DEFAULT '{}'
);

-- Each node's replica of the committed facts (filled by the replication protocol).
CREATE TABLE data_replicas (
  node_id      text NOT NULL,
  key          text NOT NULL,
  value        jsonb,
  vector_clock jsonb NOT NULL DEFAULT '{}',
  lamport      bigint NOT NULL DEFAULT 0,
  origin       text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, key)
);
