import type { Writable } from "node:stream";

/**
 * corkedWriter returns a write function for stream under which everything written in one tick
 * leaves in one write: the first write corks the stream, and a microtask uncorks it once the
 * code that runs in this tick has done writing. Both ends of a hub link write this way.
 */
export function corkedWriter(stream: Writable): (data: string) => void {
  let corked = false;
  return (data) => {
    if (!corked) {
      corked = true;
      stream.cork();
      queueMicrotask(() => {
        corked = false;
        stream.uncork();
      });
    }
    stream.write(data);
  };
}
