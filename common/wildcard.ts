/**
 * Wildcard matching for user name patterns: `*` matches any run of characters (the empty one
 * included), `?` exactly one character (a code point), anything else itself without regard to
 * case; the whole name must match.
 *
 * The work is bounded by (text length + 1) × (pattern length + 1) character comparisons, whatever
 * the input: the pattern is cut at its stars, and each piece between two stars is looked for at
 * its leftmost place after the previous piece, never going back to try another place for an
 * earlier one. (Leftmost is always right: a later place for a piece only leaves less room for the
 * pieces after it.) A regular expression built from the pattern backtracks instead, and
 * `*?*?*?…!` against a long name takes it exponential time: 15 s of a blocked event loop at 29
 * characters.
 */

/** A compiled pattern. */
export interface WildcardPattern {
  /** Whether `text` matches the whole pattern. */
  test(text: string): boolean;
  /** Character comparisons made by every {@link test} so far: the matcher's work, for tests. */
  readonly steps: number;
}

/** One code point, in the two forms case-insensitive comparison looks at. */
interface Folded {
  readonly upper: string;
  readonly lower: string;
}

/** The code points of `text`, each with its upper and lower case (as Windows compares names). */
function fold(text: string): Folded[] {
  return Array.from(text, (char) => ({ upper: char.toUpperCase(), lower: char.toLowerCase() }));
}

/** A piece of the pattern between stars; `undefined` stands for `?`. */
type Piece = readonly (Folded | undefined)[];

/** Compiles `pattern` (`*`, `?`, literal characters); every string is a valid pattern. */
export function compileWildcard(pattern: string): WildcardPattern {
  const chars = Array.from(pattern);
  const pieces: Piece[] = [];
  let current: (Folded | undefined)[] = [];
  for (const char of chars) {
    if (char === "*") {
      pieces.push(current);
      current = [];
    } else {
      current.push(
        char === "?" ? undefined : { upper: char.toUpperCase(), lower: char.toLowerCase() },
      );
    }
  }
  pieces.push(current);
  let steps = 0;

  /** Whether `piece` matches `text` at `at`. */
  const matchesAt = (piece: Piece, text: readonly Folded[], at: number): boolean => {
    for (let index = 0; index < piece.length; index++) {
      steps += 1;
      const want = piece[index];
      const have = text[at + index];
      if (have === undefined) return false;
      if (want !== undefined && want.upper !== have.upper && want.lower !== have.lower) {
        return false;
      }
    }
    return true;
  };

  return {
    get steps() {
      return steps;
    },
    test(input) {
      const text = fold(input);
      const first = pieces[0] ?? [];
      if (pieces.length === 1) return text.length === first.length && matchesAt(first, text, 0);
      const last = pieces[pieces.length - 1] ?? [];
      // The first piece is anchored at the start, the last at the end, without overlapping.
      const lastAt = text.length - last.length;
      if (lastAt < first.length || !matchesAt(first, text, 0) || !matchesAt(last, text, lastAt)) {
        return false;
      }
      let at = first.length;
      for (const piece of pieces.slice(1, -1)) {
        let found = -1;
        for (let start = at; start + piece.length <= lastAt; start++) {
          steps += 1;
          if (matchesAt(piece, text, start)) {
            found = start;
            break;
          }
        }
        if (found === -1) return false;
        at = found + piece.length;
      }
      return true;
    },
  };
}
