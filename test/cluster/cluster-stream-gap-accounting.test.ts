import test from "ava";
import { compareIds, holdAgainstStream, parseStreamInfo } from "../../daemon/primary/cluster/stream-gap.ts";

/**
 * How a batch read from the cursor is held against XINFO STREAM taken just after it (the cases the
 * paused daemon of cluster-stream-gap.test.ts does not reach on its own): positions count entries
 * ever added, ids are `ms-seq`.
 */
const info = (trimmed: number, firstId: string) => ({ entriesAdded: 100, trimmed, firstId, lastId: "100-0" });

test("stream ids are ordered by time, then sequence, as numbers", (t) => {
  t.true(compareIds("10-0", "9-5") > 0);
  t.true(compareIds("9-5", "9-10") < 0);
  t.is(compareIds("7-1", "7-1"), 0);
});

test("a trim that has not reached the cursor loses nothing", (t) => {
  t.deepEqual(holdAgainstStream("5-0", 5, ["6-0", "7-0"], info(3, "4-0")), { lost: 0, position: 7 });
});

test("entries trimmed between the cursor and the batch are lost", (t) => {
  t.deepEqual(holdAgainstStream("1-0", 1, ["6-0", "7-0"], info(5, "6-0")), { lost: 4, position: 7 });
});

test("a trim that took only entries the batch holds loses nothing", (t) => {
  t.deepEqual(holdAgainstStream("1-0", 1, ["2-0", "3-0", "4-0"], info(2, "3-0")), { lost: 0, position: 4 });
});

test("a batch trimmed whole since it was read: the entries after it that went are lost", (t) => {
  t.deepEqual(holdAgainstStream("1-0", 1, ["2-0", "3-0"], info(5, "6-0")), { lost: 2, position: 5 });
});

test("XINFO STREAM's answer is read by field name", (t) => {
  const reply = [
    "length",
    20050,
    "radix-tree-keys",
    201,
    "radix-tree-nodes",
    400,
    "last-generated-id",
    "1700000000000-7",
    "max-deleted-entry-id",
    "0-0",
    "entries-added",
    25051,
    "recorded-first-entry-id",
    "1699999999000-3",
    "groups",
    0,
    "first-entry",
    null,
    "last-entry",
    null,
  ];
  t.deepEqual(parseStreamInfo(reply), {
    entriesAdded: 25051,
    trimmed: 5001,
    firstId: "1699999999000-3",
    lastId: "1700000000000-7",
  });
  t.is(parseStreamInfo(["length", 3, "last-generated-id", "1-0"]), null, "a Redis before 7");
});
