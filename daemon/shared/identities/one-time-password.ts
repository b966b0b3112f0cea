import { randomInt } from "node:crypto";

/** Letters and digits nobody misreads on a screen or over the phone (no 0/o, 1/l/i). */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";
/** 14 characters of 31: about 69 bits, beyond guessing through the sign-in throttle. */
const LENGTH = 14;

/** A fresh random password for identities.reset, drawn without bias (crypto.randomInt). */
export function oneTimePassword(): string {
  let out = "";
  for (let i = 0; i < LENGTH; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}
