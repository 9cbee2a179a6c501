import { LabIcon } from '@jupyterlab/ui-components';

// A table with a speech bubble; jp-icon3 makes it follow the theme's icon colour.
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h12v2H3zM3 7h5v2H3zm7 0h5v2h-5zM3 11h5v2H3zm7 0h5v2h-5zM3 15h5v2H3z"/>
    <path d="M14 14h8v6h-3l-2 2v-2h-3z"/>
  </g>
</svg>`;

export const csvAnalystIcon = new LabIcon({ name: 'csvanalyst:icon', svgstr: svg });
