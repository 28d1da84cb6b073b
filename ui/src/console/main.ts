import { mount } from 'svelte';
import Console from './Console.svelte';
import '../app.css';
import './console.css';

const target = document.getElementById('app');
if (!target) throw new Error('no #app element');
export default mount(Console, { target });
