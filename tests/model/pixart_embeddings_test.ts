import { sincosPosEmbed } from "../../model/pixart/embeddings.ts";
import { assertClose } from "../_harness.ts";
import { reference } from "./_fixtures.ts";

Deno.test("sincosPosEmbed() matches diffusers' get_2d_sincos_pos_embed tables (atol 1e-6)", async () => {
  const ref = await reference("pixart_a_reference.safetensors");
  for (const [h, w, base, interp] of [[8, 8, 32, 1], [4, 8, 64, 2], [8, 4, 64, 2]]) {
    const key = `pos_table.h${h}w${w}.base${base}.interp${interp}`;
    assertClose(sincosPosEmbed(1152, h, w, base, interp), await ref.readF32(key), {
      atol: 1e-6,
      rtol: 0,
    }, key);
  }
  ref.close();
});
