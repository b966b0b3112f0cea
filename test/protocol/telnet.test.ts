import test from "ava";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_SB_BYTES, TELNET, TelnetFilter, telnetWillEcho, telnetWontEcho } from "../../protocol/telnet.ts";
import { byteByByte, bytes, check, concat, split } from "./helpers.ts";

const { IAC, WILL, WONT, DO, DONT, SB, SE } = TELNET;
const NOP = 241;
const GA = 249;

type Result = { data: number[]; replies: number[]; negotiated: boolean };

function run(chunks: readonly Uint8Array[], filter = new TelnetFilter()): Result {
  const data: Uint8Array[] = [];
  const replies: Uint8Array[] = [];
  for (const c of chunks) {
    data.push(filter.push(c));
    const r = filter.takeReplies();
    if (r) replies.push(r);
  }
  return { data: [...concat(data)], replies: [...concat(replies)], negotiated: filter.negotiated };
}

/** runBoth checks whole and byte-by-byte feeding agree, and returns the result. */
function runBoth(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, input: Uint8Array): Result {
  const whole = run([input]);
  const bytewise = run(byteByByte(input));
  t.deepEqual(bytewise, whole, "byte-by-byte differs from whole");
  return whole;
}

test("telnet - chunk without IAC is returned as is, without a copy", (t) => {
  const f = new TelnetFilter();
  const chunk = bytes("hello\r\n");
  t.is(f.push(chunk), chunk);
  t.is(f.takeReplies(), null);
  t.false(f.negotiated);
});

test("telnet - IAC IAC is a literal 0xFF", (t) => {
  const r = runBoth(t, bytes("a", IAC, IAC, "b"));
  t.deepEqual(r.data, [...bytes("a", 0xff, "b")]);
  t.deepEqual(r.replies, []);
  t.false(r.negotiated);
});

test("telnet - DO 1 gets WONT 1", (t) => {
  const r = runBoth(t, bytes("x", IAC, DO, 1, "y"));
  t.deepEqual(r.data, [...bytes("xy")]);
  t.deepEqual(r.replies, [IAC, WONT, 1]);
  t.true(r.negotiated);
});

test("telnet - WILL 31 gets DONT 31", (t) => {
  const r = runBoth(t, bytes(IAC, WILL, 31, "hi"));
  t.deepEqual(r.data, [...bytes("hi")]);
  t.deepEqual(r.replies, [IAC, DONT, 31]);
});

test("telnet - WONT and DONT get no reply", (t) => {
  const r = runBoth(t, bytes(IAC, WONT, 1, IAC, DONT, 3, IAC, WONT, 24, "ok"));
  t.deepEqual(r.data, [...bytes("ok")]);
  t.deepEqual(r.replies, []);
  t.true(r.negotiated);
});

test("telnet - the same option is refused only once", (t) => {
  const r = runBoth(t, bytes(IAC, DO, 24, IAC, DO, 24, IAC, WILL, 3, IAC, WILL, 3, IAC, DO, 5));
  t.deepEqual(r.replies, [IAC, WONT, 24, IAC, DONT, 3, IAC, WONT, 5]);
});

test("telnet - DO SGA (telnet's mode character) is agreed to, acknowledged only when it changes", (t) => {
  const r = runBoth(t, bytes(IAC, DO, 3, IAC, DO, 3, IAC, DONT, 3, IAC, DONT, 3, IAC, DO, 3, "x"));
  t.deepEqual(r.data, [...bytes("x")]);
  t.deepEqual(r.replies, [IAC, WILL, 3, IAC, WONT, 3, IAC, WILL, 3]);
});

test("telnet - typical telnet client opening is refused and stripped", (t) => {
  // What netkit telnet sends on connect: DO SGA, WILL TTYPE, WILL NAWS, WILL TSPEED, WILL LFLOW, WILL LINEMODE, WILL NEW-ENVIRON, DO STATUS
  const opening = bytes(
    IAC,
    DO,
    3,
    IAC,
    WILL,
    24,
    IAC,
    WILL,
    31,
    IAC,
    WILL,
    32,
    IAC,
    WILL,
    33,
    IAC,
    WILL,
    34,
  );
  const r = runBoth(t, bytes(opening, IAC, SB, 31, 0, 80, 0, 24, IAC, SE, "alice\r\n"));
  t.deepEqual(r.data, [...bytes("alice\r\n")]);
  t.deepEqual(r.replies, [
    IAC,
    WILL,
    3,
    IAC,
    DONT,
    24,
    IAC,
    DONT,
    31,
    IAC,
    DONT,
    32,
    IAC,
    DONT,
    33,
    IAC,
    DONT,
    34,
  ]);
});

test("telnet - SB ... SE is removed, including escaped IAC inside", (t) => {
  const r = runBoth(t, bytes("a", IAC, SB, 24, 0, "xterm", IAC, IAC, "z", IAC, SE, "b"));
  t.deepEqual(r.data, [...bytes("ab")]);
  t.deepEqual(r.replies, []);
  t.true(r.negotiated);
});

test("telnet - SB split at every possible point is removed", (t) => {
  const input = bytes("left", IAC, SB, 31, 0, 80, IAC, IAC, 24, IAC, SE, "right");
  for (let cut = 0; cut <= input.length; cut++) {
    for (let cut2 = cut; cut2 <= input.length; cut2++) {
      const r = run(split(input, [cut, cut2]));
      t.deepEqual(r.data, [...bytes("leftright")], `cuts ${cut},${cut2}`);
    }
  }
});

test("telnet - two-byte commands such as NOP and GA are dropped", (t) => {
  const r = runBoth(t, bytes("a", IAC, NOP, "b", IAC, GA, "c"));
  t.deepEqual(r.data, [...bytes("abc")]);
  t.deepEqual(r.replies, []);
  t.false(r.negotiated);
});

test("telnet - an IAC command inside SB ends the SB", (t) => {
  const r = runBoth(t, bytes(IAC, SB, 24, "junk", IAC, DO, 1, "after"));
  t.deepEqual(r.data, [...bytes("after")]);
  t.deepEqual(r.replies, [IAC, WONT, 1]);
});

test("telnet - an endless SB is abandoned after MAX_SB_BYTES and data flows again", (t) => {
  const content = new Uint8Array(MAX_SB_BYTES).fill(0x41);
  const input = bytes(IAC, SB, 24, content, "hello");
  // The option byte counts as SB content too; everything past the bound is data.
  const expected = [...input.subarray(3 + MAX_SB_BYTES - 1)];
  const r = runBoth(t, input);
  t.deepEqual(r.data, expected);
  t.true(r.data.length < 10);
});

test("telnet - willEcho/wontEcho bytes", (t) => {
  t.deepEqual([...telnetWillEcho()], [0xff, 0xfb, 0x01]);
  t.deepEqual([...telnetWontEcho()], [0xff, 0xfc, 0x01]);
});

test("telnet - DO ECHO answering our WILL ECHO gets no reply; DONT ECHO answering WONT neither", (t) => {
  const f = new TelnetFilter();
  f.push(bytes(IAC, DO, 24));
  t.deepEqual([...(f.takeReplies() ?? [])], [IAC, WONT, 24]);
  t.deepEqual([...f.willEcho()], [IAC, WILL, 1]);
  t.deepEqual([...f.push(bytes(IAC, DO, 1, "pw"))], [...bytes("pw")]);
  t.is(f.takeReplies(), null);
  t.true(f.echoing);
  t.deepEqual([...f.wontEcho()], [IAC, WONT, 1]);
  f.push(bytes(IAC, DONT, 1));
  t.is(f.takeReplies(), null);
  t.false(f.echoing);
  // A second round works the same way.
  t.deepEqual([...f.willEcho()], [IAC, WILL, 1]);
  f.push(bytes(IAC, DO, 1));
  t.is(f.takeReplies(), null);
  t.true(f.echoing);
});

test("telnet - a client refusing our WILL ECHO gets no reply", (t) => {
  const f = new TelnetFilter();
  f.willEcho();
  f.push(bytes(IAC, DONT, 1));
  t.is(f.takeReplies(), null);
  t.false(f.echoing);
});

test("telnet - unsolicited DO ECHO is refused once", (t) => {
  const r = runBoth(t, bytes(IAC, DO, 1, IAC, DO, 1));
  t.deepEqual(r.replies, [IAC, WONT, 1]);
});

test("telnet - willEcho while already echoing sends nothing", (t) => {
  const f = new TelnetFilter();
  f.willEcho();
  t.is(f.willEcho().length, 0, "already offered");
  f.push(bytes(IAC, DO, 1));
  t.is(f.willEcho().length, 0, "already on");
  t.is(f.wontEcho().length, 3);
  t.is(f.wontEcho().length, 0, "already off");
});

test("telnet - DONT ECHO while echoing is acknowledged with WONT ECHO", (t) => {
  const f = new TelnetFilter();
  f.willEcho();
  f.push(bytes(IAC, DO, 1));
  f.push(bytes(IAC, DONT, 1));
  t.deepEqual([...(f.takeReplies() ?? [])], [IAC, WONT, 1]);
  t.false(f.echoing);
});

/** A stream of data runs and telnet commands, with the data it should yield. */
const segment = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 20 }).map((a) => {
    const d = a.map((b) => (b === 0xff ? 0x20 : b));
    return { input: [...d], data: [...d] };
  }),
  fc.constant({ input: [IAC, IAC], data: [0xff] }),
  fc
    .tuple(fc.constantFrom(WILL, WONT, DO, DONT), fc.integer({ min: 0, max: 255 }))
    .map(([v, o]) => ({ input: [IAC, v, o], data: [] as number[] })),
  // Two-byte commands yield nothing, but EC and EL, which become the erase keys DEL and Ctrl-U.
  fc
    .integer({ min: 241, max: 249 })
    .map((c) => ({ input: [IAC, c], data: c === TELNET.EC ? [0x7f] : c === TELNET.EL ? [0x15] : [] })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 30 })).map(([opt, body]) => {
    const esc: number[] = [];
    for (const b of body) esc.push(...(b === 0xff ? [0xff, 0xff] : [b]));
    return {
      input: [IAC, SB, ...(opt === 0xff ? [0xff, 0xff] : [opt]), ...esc, IAC, SE],
      data: [] as number[],
    };
  }),
);

test("telnet - property: any chunking gives the same data and replies as whole", (t) => {
  check(
    t,
    fc.property(
      fc.array(segment, { maxLength: 30 }),
      fc.array(fc.nat({ max: 400 }), { maxLength: 20 }),
      (segs, cuts) => {
        const input = Uint8Array.from(segs.flatMap((s) => s.input));
        const whole = run([input]);
        const chunked = run(split(input, cuts));
        assert.deepEqual(chunked, whole);
        assert.deepEqual(
          whole.data,
          segs.flatMap((s) => s.data),
        );
        // replies only ever refuse, or acknowledge SGA
        for (let i = 0; i < whole.replies.length; i += 3) {
          assert.equal(whole.replies[i], IAC);
          const sga = whole.replies[i + 2] === 3 && whole.replies[i + 1] === WILL;
          assert.ok(sga || whole.replies[i + 1] === WONT || whole.replies[i + 1] === DONT);
        }
      },
    ),
  );
});

test("telnet - property: bytes without 0xFF pass through untouched", (t) => {
  check(
    t,
    fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
      const d = a.map((b) => (b === 0xff ? 0 : b));
      const f = new TelnetFilter();
      assert.equal(f.push(d), d);
      assert.equal(f.takeReplies(), null);
    }),
  );
});

test("telnet - escaped IAC at the SB bound abandons it cleanly", (t) => {
  const content = new Uint8Array(MAX_SB_BYTES - 1).fill(0x41);
  // option byte + content = MAX_SB_BYTES, then an escaped 0xFF goes past the bound.
  const r = runBoth(t, bytes(IAC, SB, 24, content, IAC, IAC, "ok"));
  t.deepEqual(r.data, [...bytes("ok")]);
});

test("telnet - property: SB bodies around the bound give the same result in any chunking", (t) => {
  check(
    t,
    fc.property(
      fc.integer({ min: MAX_SB_BYTES - 3, max: MAX_SB_BYTES + 3 }),
      fc.boolean(),
      fc.array(fc.nat({ max: MAX_SB_BYTES + 20 }), { maxLength: 10 }),
      (len, escaped, cuts) => {
        const body = new Uint8Array(len).fill(0x42);
        const input = bytes(IAC, SB, 24, body, escaped ? [IAC, IAC] : [], IAC, SE, "tail");
        const whole = run([input]);
        assert.deepEqual(run(split(input, cuts)), whole);
        assert.deepEqual(whole.data.slice(-4), [...bytes("tail")]);
      },
    ),
    { numRuns: 200 },
  );
});

test("telnet - a raw client that never answers sees one WILL ECHO, then nothing more", (t) => {
  const f = new TelnetFilter();
  t.deepEqual([...f.willEcho()], [IAC, WILL, 1], "the first password prompt offers");
  t.is(f.wontEcho().length, 0, "no WONT for an offer nobody took");
  t.is(f.willEcho().length, 0, "the offer still stands at the next prompt");
  t.is(f.wontEcho().length, 0);
  t.is(f.takeReplies(), null);
  t.false(f.echoing);
});

test("telnet - a DO that comes after the password line (typed ahead) is taken back at once", (t) => {
  const f = new TelnetFilter();
  f.willEcho();
  t.is(f.wontEcho().length, 0, "the answer has not come: queued");
  f.push(bytes(IAC, DO, 1));
  t.deepEqual([...(f.takeReplies() ?? [])], [IAC, WONT, 1], "echo is not left on after the password");
  t.false(f.echoing);
  f.push(bytes(IAC, DONT, 1));
  t.is(f.takeReplies(), null);
  t.false(f.echoing);
});

test("telnet - a WILL right after our WONT goes out at once; the DONT that acknowledges the WONT is no refusal", (t) => {
  const f = new TelnetFilter();
  f.willEcho();
  f.push(bytes(IAC, DO, 1));
  t.deepEqual([...f.wontEcho()], [IAC, WONT, 1]);
  t.deepEqual([...f.willEcho()], [IAC, WILL, 1], "tintin++ never acknowledges a WONT: no waiting for it");
  f.push(bytes(IAC, DONT, 1, IAC, DO, 1));
  t.is(f.takeReplies(), null);
  t.true(f.echoing);
});

test("telnet - a client that never acknowledges WONT (tintin++) is offered again at the next password prompt", (t) => {
  const f = new TelnetFilter();
  for (let i = 0; i < 3; i++) {
    t.deepEqual([...f.willEcho()], [IAC, WILL, 1]);
    f.push(bytes(IAC, DO, 1));
    t.true(f.echoing);
    t.deepEqual([...f.wontEcho()], [IAC, WONT, 1]);
    t.false(f.echoing);
  }
  t.is(f.takeReplies(), null);
});

test("telnet - a client that refuses (ncat -t) is not offered again on that connection", (t) => {
  const f = new TelnetFilter();
  t.deepEqual([...f.willEcho()], [IAC, WILL, 1]);
  f.push(bytes(IAC, DONT, 1));
  t.is(f.takeReplies(), null);
  t.false(f.echoing);
  t.is(f.wontEcho().length, 0);
  t.is(f.willEcho().length, 0, "it refused: asking again would only print the bytes again");
  f.push(bytes(IAC, DONT, 1));
  t.is(f.takeReplies(), null);
});

/**
 * A telnet client's side of our ECHO (RFC 1143's "him" side), which agrees or refuses as
 * told; what it sends is queued, as bytes in flight on a connection are.
 */
class ClientEcho {
  on = false;
  want: "none" | "on" | "off" = "none";
  readonly accepts: boolean;
  /** false: like tintin++, a WONT turns echo off without the DONT that should acknowledge it */
  readonly acksWont: boolean;
  constructor(accepts: boolean, acksWont: boolean) {
    this.accepts = accepts;
    this.acksWont = acksWont;
  }
  receive(verb: number): number[] {
    if (verb === WILL) {
      if (this.want === "on") {
        this.want = "none";
        this.on = true;
        return [];
      }
      if (this.want === "off") {
        this.want = "none";
        this.on = false;
        return [];
      }
      if (this.on) return [];
      if (!this.accepts) return [IAC, DONT, 1];
      this.on = true;
      return [IAC, DO, 1];
    }
    // WONT
    if (this.want !== "none") {
      this.want = "none";
      this.on = false;
      return [];
    }
    if (!this.on) return [];
    this.on = false;
    return this.acksWont ? [IAC, DONT, 1] : [];
  }
}

test("telnet - property: any interleaving of prompts and answers settles where the server last wanted, without a loop", (t) => {
  const steps = fc.array(fc.constantFrom("will", "wont", "toClient", "toServer"), { maxLength: 60 });
  check(
    t,
    fc.property(steps, fc.boolean(), fc.boolean(), (script, accepts, acksWont) => {
      const server = new TelnetFilter();
      const client = new ClientEcho(accepts, acksWont);
      const toClient: number[] = [];
      const toServer: number[] = [];
      let wantOn = false;
      let sent = 0;
      const deliverToClient = () => {
        const verb = toClient.splice(0, 3)[1]!;
        toServer.push(...client.receive(verb));
      };
      const deliverToServer = () => {
        server.push(Uint8Array.from(toServer.splice(0, 3)));
        const r = server.takeReplies();
        if (r) toClient.push(...r);
      };
      for (const step of script) {
        if (step === "will") {
          wantOn = true;
          toClient.push(...server.willEcho());
        } else if (step === "wont") {
          wantOn = false;
          toClient.push(...server.wontEcho());
        } else if (step === "toClient" && toClient.length > 0) deliverToClient();
        else if (step === "toServer" && toServer.length > 0) deliverToServer();
      }
      // Let everything in flight arrive; a loop would never end, so the rounds are bounded.
      for (let round = 0; round < 20 && (toClient.length > 0 || toServer.length > 0); round++) {
        while (toClient.length > 0) {
          deliverToClient();
          sent++;
        }
        while (toServer.length > 0) deliverToServer();
      }
      assert.equal(toClient.length + toServer.length, 0, "the peers still negotiate: a loop");
      assert.ok(sent <= script.length + 2, "no more messages than the server's wishes explain");
      assert.equal(server.echoing, wantOn && accepts, "the server's state is what it last wanted");
      assert.equal(client.on, server.echoing, "both ends agree");
    }),
  );
});

test("telnet - every DO TIMING-MARK is answered: telnet sends one with each Ctrl-C and shows nothing until the answer", (t) => {
  const TM = TELNET.TM;
  const IP = 244;
  const f = new TelnetFilter();
  for (let i = 0; i < 3; i++) {
    const r = run([bytes(IAC, IP, IAC, DO, TM, "x")], f);
    t.deepEqual(r.data, [...bytes("x")]);
    t.deepEqual(r.replies, [IAC, WONT, TM], `Ctrl-C number ${i + 1}`);
  }
});

test("telnet - IAC EC and IAC EL become DEL and Ctrl-U in the data, where the line framer applies them; no reply", (t) => {
  const { EC, EL } = TELNET;
  const r = runBoth(t, bytes("ab", IAC, EC, "c", IAC, EL, "d"));
  t.deepEqual(r.data, [...bytes("ab", 0x7f, "c", 0x15, "d")]);
  t.deepEqual(r.replies, []);
});

test("telnet - IAC AYT is removed from the data and noted once for an answer, however many came", (t) => {
  const f = new TelnetFilter();
  t.false(f.takeAreYouThere());
  const r = run([bytes("a", IAC, TELNET.AYT, "b", IAC), bytes(TELNET.AYT)], f);
  t.deepEqual(r.data, [...bytes("ab")]);
  t.deepEqual(r.replies, []);
  t.true(f.takeAreYouThere());
  t.false(f.takeAreYouThere());
});
