import { mount } from "svelte";
import "../src/app.css";
import "./console.css";
import Console from "./Console.svelte";

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
export default mount(Console, { target });
