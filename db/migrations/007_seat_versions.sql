-- Every seat's state has a version: each transaction that changes seats sets the seats it changed
-- to one new version, greater than each of their previous ones (taken after their row locks, so a
-- seat's versions follow the order its changes committed). The live seat map orders what it hears
-- by it: a seat-map read and a seat event are compared seat by seat, the newer wins.
ALTER TABLE showtime_seats ADD COLUMN version bigint NOT NULL DEFAULT 0;
-- The version a booking's last change (booked, or cancelled) gave its seats, so that the booking's
-- fact can be recorded again later (a replay, a repeated cancel) with the same version.
ALTER TABLE bookings ADD COLUMN seat_version bigint NOT NULL DEFAULT 0;

-- The NOTIFY payload of one seat change (db/booking/seat-events.ts): the seats, their new state,
-- its version and, for a hold, who holds them. A change too big for a notification (PostgreSQL
-- refuses payloads of 8000 bytes or more) is announced as a resync instead: "refetch".
CREATE FUNCTION seat_change_payload(showtime bigint, version bigint, status text, holder uuid, seats text[])
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN octet_length(p) < 8000 THEN p ELSE jsonb_build_object('showtimeId', showtime, 'resync', true)::text END
  FROM (SELECT jsonb_strip_nulls(jsonb_build_object(
    'showtimeId', showtime, 'version', version, 'status', status, 'seats', to_jsonb(seats), 'holder', holder))::text AS p) AS payload
$$;
