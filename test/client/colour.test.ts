import test from "ava";
import { colourise, colourWanted, nameColour } from "../../client/colour.ts";

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

test("colour - a chat line gets its name coloured and the text left alone", (t) => {
  const out = colourise("<alice> привет всем");
  t.is(out, `${nameColour("alice")}<alice>\x1b[0m привет всем`);
});

test("colour - the same name always gets the same colour, and colours differ between names", (t) => {
  t.is(nameColour("alice"), nameColour("alice"));
  const colours = new Set(["alice", "bob", "carol", "dave", "eve", "мария", "иван"].map(nameColour));
  t.true(colours.size > 1);
  t.false(colours.has("\x1b[31m"), "red is kept for errors");
});

test("colour - private, sent-private and history lines colour the name", (t) => {
  t.is(colourise("*bob* are you there?"), `${nameColour("bob")}*bob*\x1b[0m are you there?`);
  t.true(colourise("-> *bob* hi").includes(`${nameColour("bob")}*bob*\x1b[0m hi`));
  const history = colourise("[2026-11-27 13:05:09] <carol> hi");
  t.true(history.includes(`${nameColour("carol")}<carol>\x1b[0m hi`));
  t.is(plain(history), "[2026-11-27 13:05:09] <carol> hi");
});

test("colour - errors are red, notices dim, anything else untouched", (t) => {
  t.is(colourise("! wrong password"), "\x1b[31m! wrong password\x1b[0m");
  t.is(colourise("* bob joined"), "\x1b[2m* bob joined\x1b[0m");
  t.is(colourise("just text <not a name>"), "just text <not a name>");
  t.is(colourise("<alice>glued"), "<alice>glued");
});

test("colour - wanted only on a terminal, without NO_COLOR, with a TERM that is not dumb", (t) => {
  t.true(colourWanted({ isTTY: true }, { TERM: "xterm-256color" }));
  t.false(colourWanted({ isTTY: false }, { TERM: "xterm" }));
  t.false(colourWanted({}, {}));
  t.false(colourWanted({ isTTY: true }, { TERM: "xterm", NO_COLOR: "1" }));
  t.true(colourWanted({ isTTY: true }, { TERM: "xterm", NO_COLOR: "" }), "an empty NO_COLOR does not count");
  t.false(colourWanted({ isTTY: true }, { TERM: "dumb" }));
});
