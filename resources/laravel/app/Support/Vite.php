<?php

namespace App\Support;

use Illuminate\Support\HtmlString;
use RuntimeException;

/**
 * Laravel 8 has no @vite directive: read the manifest that `vite build` writes
 * and emit the tags for an entry point. Vite 5 writes the manifest to
 * public/build/.vite/manifest.json (Vite <= 4: public/build/manifest.json);
 * both are accepted.
 */
class Vite
{
    /** @var array<string, array<string, mixed>>|null */
    private static $manifest = null;

    /**
     * @param  array<int, string>|string  $entries
     */
    public static function tags($entries, string $buildDirectory = 'build'): HtmlString
    {
        $manifest = self::manifest($buildDirectory);
        $base = '/'.trim($buildDirectory, '/').'/';
        $html = [];
        $seenCss = [];

        foreach ((array) $entries as $entry) {
            if (! isset($manifest[$entry])) {
                throw new RuntimeException("Unable to locate file in Vite manifest: {$entry}.");
            }

            $chunk = $manifest[$entry];
            $file = $chunk['file'];

            foreach (self::cssFor($manifest, $entry) as $css) {
                if (! isset($seenCss[$css])) {
                    $seenCss[$css] = true;
                    $html[] = '<link rel="stylesheet" href="'.e($base.$css).'">';
                }
            }

            if (preg_match('/\.css$/', $file)) {
                if (! isset($seenCss[$file])) {
                    $seenCss[$file] = true;
                    $html[] = '<link rel="stylesheet" href="'.e($base.$file).'">';
                }
            } else {
                $html[] = '<script type="module" src="'.e($base.$file).'"></script>';
            }
        }

        return new HtmlString(implode("\n    ", $html));
    }

    /**
     * CSS files an entry needs: its own plus those of the chunks it imports.
     *
     * @param  array<string, array<string, mixed>>  $manifest
     * @return array<int, string>
     */
    private static function cssFor(array $manifest, string $key, array &$visited = []): array
    {
        if (isset($visited[$key]) || ! isset($manifest[$key])) {
            return [];
        }
        $visited[$key] = true;

        $css = $manifest[$key]['css'] ?? [];
        foreach ($manifest[$key]['imports'] ?? [] as $import) {
            $css = array_merge($css, self::cssFor($manifest, $import, $visited));
        }

        return array_values(array_unique($css));
    }

    /**
     * @return array<string, array<string, mixed>>
     */
    public static function manifest(string $buildDirectory = 'build'): array
    {
        if (self::$manifest !== null) {
            return self::$manifest;
        }

        $dir = public_path(trim($buildDirectory, '/'));

        foreach ([$dir.'/.vite/manifest.json', $dir.'/manifest.json'] as $path) {
            if (is_file($path)) {
                $decoded = json_decode((string) file_get_contents($path), true);
                if (! is_array($decoded)) {
                    throw new RuntimeException("Invalid Vite manifest: {$path}.");
                }

                return self::$manifest = $decoded;
            }
        }

        throw new RuntimeException("Vite manifest not found in {$dir} (run `npm run build`).");
    }
}
