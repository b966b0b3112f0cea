/**
 * How often text announces that name joined (or left): alone (`* NAME left`, with or without a
 * reason) or inside a storm's combined line (`* 14 left: alice, NAME, ...`), which chat-protocol.md
 * allows when more than 10 users join or leave within a second; in a cluster every daemon counts
 * the whole cluster's joins and leaves, so any test's may meet one.
 */
export function timesAnnounced(text: string, name: string, verb: "joined" | "left"): number {
  let times = 0;
  for (const line of text.split("\r\n")) {
    const many = new RegExp(`^\\* \\d+ ${verb}: (.*?)( and \\d+ more)?$`).exec(line);
    if (many) times += many[1]!.split(", ").filter((n) => n === name).length;
    else if (line === `* ${name} ${verb}` || line.startsWith(`* ${name} ${verb} (`)) times++;
  }
  return times;
}
