import test from "ava";
import { parseSsRows } from "../../daemon/primary/control/control-peer.ts";

test("control peer - ss rows: the socket's inode, its peer's, and the peer's pid when ss could read it", (t) => {
  const text = [
    'u_str ESTAB 0      0      /run/tsd/control.sock 1560522            * 1561625 users:(("node",pid=24124,fd=4)) <-> ino:2146318',
    'u_str ESTAB 0      0                  * 1561625            * 1560522 users:(("node",pid=24165,fd=3)) <->',
    "u_str ESTAB 0      0                  * 313                * 314     <->",
    "u_dgr UNCONN 0 0 /run/systemd/notify 1234 * 0",
  ].join("\n");
  t.deepEqual(parseSsRows(text), [
    { inode: "1560522", peer: "1561625", pid: 24124 },
    { inode: "1561625", peer: "1560522", pid: 24165 },
    { inode: "313", peer: "314", pid: null },
  ]);
});
