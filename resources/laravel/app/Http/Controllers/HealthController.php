<?php

namespace App\Http\Controllers;

use App\Support\Health;
use Illuminate\Http\JsonResponse;

class HealthController extends Controller
{
    /**
     * GET /healthz: 200 only when the database is reachable and no migration is
     * pending; 503 with the reason otherwise. Used by the ALB target group and
     * by the deploy orchestrator's "new task is healthy" check.
     */
    public function __invoke(Health $health): JsonResponse
    {
        $problem = $health->problem();

        if ($problem !== null) {
            return new JsonResponse(['status' => 'unhealthy', 'reason' => $problem], 503, [
                'Cache-Control' => 'no-store',
            ]);
        }

        return new JsonResponse(['status' => 'ok'], 200, ['Cache-Control' => 'no-store']);
    }
}
