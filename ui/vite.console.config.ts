import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The organiser's console: served by tinjau-server at /console/ from files embedded in its
// binary (strict CSP: no inline script or style, everything from the same origin).
export default defineConfig({
  root: "console",
  plugins: [svelte()],
  base: "./",
  build: { outDir: "../dist-console", target: "es2022", emptyOutDir: true, assetsInlineLimit: 0 },
});
