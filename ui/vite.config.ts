import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The app runs inside the Tauri webview from files bundled in the binary: no dev server,
// no CDN, relative asset paths.
export default defineConfig({
  plugins: [svelte()],
  base: "./",
  build: { outDir: "dist", target: "safari15", emptyOutDir: true },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
